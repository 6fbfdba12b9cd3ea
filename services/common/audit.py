"""Audit records (docs/security.md): who changed what. A service passes `Context.audit(...)` (or
`audit_event` for a change made by a consumer) in the same `events=[...]` as the change, so the
record rides in the outbox of the very write and cannot be lost; contacts keeps the log."""

from __future__ import annotations

from .auth import Principal
from .envelope import Envelope

SYSTEM = {"sub": "system", "role": "system"}


def audit_event(
    service: str, principal: Principal | None, action: str, entity: str, entity_id: str, changes: dict | None = None
) -> Envelope:
    return Envelope(
        f"audit.{service}.{action}",
        str(entity_id),
        {
            "service": service,
            "action": action,
            "entity": entity,
            "entity_id": str(entity_id),
            "actor": principal.describe() if principal else SYSTEM,
            "changes": changes or {},
        },
    )


def diff(old: dict | None, new: dict | None) -> dict:
    """`{field: {"from": a, "to": b}}` for the public fields a write changed (audit log)."""
    old, new = old or {}, new or {}
    skip = {"version", "updated_at", "created_at"}
    keys = sorted(k for k in set(old) | set(new) if not k.startswith("_") and not k.endswith("_key") and k not in skip)
    return {k: {"from": old.get(k), "to": new.get(k)} for k in keys if old.get(k) != new.get(k)}
