"""The audit log (docs/security.md): every service passes an audit record in the same write as
its change (services/common/audit.py); contacts consumes them all and keeps the log, one
append-only row per record, readable by admins through `Query.auditLog`."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import TYPE_CHECKING

import strawberry
from strawberry.scalars import JSON

from services.common.errors import DuplicateKeyError, PublicError
from services.common.graphql import Connection, FromDoc
from services.common.values import all_of, equal, ts_input

if TYPE_CHECKING:
    from services.common.context import Context
    from services.common.envelope import Envelope
    from services.common.store import Store

PATTERNS = ["audit.#"]
SORT = [("at", -1)]


@strawberry.enum
class AuditAction(Enum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    EXPORTED = "exported"
    MERGED = "merged"
    ERASED = "erased"


@strawberry.type(description="Who did what to which record, when, with which identity. Append-only.")
class AuditEntry(FromDoc):
    id: strawberry.ID
    at: dt.datetime
    service: str
    action: AuditAction
    entity: str
    entity_id: strawberry.ID
    actor_sub: str
    actor_role: str
    actor_company_id: strawberry.ID | None
    token_id: str | None
    changes: JSON = strawberry.field(
        description="{field: {from, to}} of a change; the created record's fields for a creation."
    )

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        actor = doc.get("actor") or {}
        return {
            "actor_sub": actor.get("sub", ""),
            "actor_role": actor.get("role", ""),
            "actor_company_id": actor.get("company"),
            "token_id": actor.get("token_id"),
            "changes": doc.get("changes") or {},
        }


@strawberry.input
class AuditFilter:
    actor_sub: str | None = None
    entity: str | None = strawberry.field(default=None, description="Company, Contact, Deal, Ticket, Campaign...")
    entity_id: strawberry.ID | None = None
    service: str | None = None
    since: dt.datetime | None = None


def audit_filter(flt: AuditFilter | None) -> dict:
    if not flt:
        return {}
    if flt.since and flt.since.tzinfo is None:
        raise PublicError("since needs a time zone")
    return all_of(
        *equal(
            [
                ("actor.sub", flt.actor_sub),
                ("entity", flt.entity),
                ("entity_id", flt.entity_id),
                ("service", flt.service),
            ]
        ),
        {"at": {"$gte": ts_input(flt.since, "since")}} if flt.since else None,
    )


async def audit_log(
    c: Context, first: int | None, after: str | None, flt: AuditFilter | None
) -> Connection[AuditEntry]:
    """`Query.auditLog`: the log, newest first, within the principal's row scope."""
    return await c.page("audit_log", audit_filter(flt), SORT, first, after, AuditEntry.from_doc)


async def on_event(store: Store, e: Envelope) -> None:
    """The consumer: one append-only row per audit event of any service (row id = event id, so a
    redelivery cannot add a second row). No API updates or deletes it."""
    d = e.data
    try:
        await store.insert(
            "audit_log",
            {
                "id": e.id,
                "at": e.occurred_at,
                "service": d.get("service") or e.producer,
                "action": d.get("action"),
                "entity": d.get("entity"),
                "entity_id": d.get("entity_id"),
                "actor": d.get("actor") or {},
                "changes": d.get("changes") or {},
            },
        )
    except DuplicateKeyError:
        pass
