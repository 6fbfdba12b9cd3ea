"""Local read replicas of another service's entities, fed by its events (docs/architecture.md: a
service never reads another service's database; it keeps what it needs from events).

An event carries a snapshot in `data` with `id` and `version`; the replica keeps the newest
version it has seen, so duplicates and out-of-order deliveries change nothing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .envelope import Envelope
from .service import Subscription
from .store.base import Store

if TYPE_CHECKING:
    from .service import Service


async def apply_snapshot(store: Store, coll: str, event: Envelope, fields: Iterable[str]) -> None:
    snap = event.data
    keep = list(fields)

    def fn(current):
        if current and current.get("source_version", 0) >= int(snap.get("version", 0)):
            return None  # stale or duplicate
        return {**{k: snap.get(k) for k in keep}, "source_version": int(snap.get("version", 0))}

    await store.mutate(coll, str(snap["id"]), fn, create=True, event_id=event.id)


def replica(service: Service, name: str, entity: str, coll: str, fields: Iterable[str]) -> Subscription:
    """The consumer that keeps `coll` a replica of another service's `entity` (e.g.
    "contacts.company") from its created/updated events. The store is looked up per event: it
    exists only once the service has started."""
    keep = list(fields)
    return Subscription(
        name, [f"{entity}.created", f"{entity}.updated"], lambda e: apply_snapshot(service.store, coll, e, keep)
    )
