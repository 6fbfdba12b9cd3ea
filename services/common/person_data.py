"""Generic parts of merging, erasing and exporting records another service owns (docs/data.md):
each service names its own collections and fields; this module only walks them. No domain rule
here: which fields a service re-points, blanks or exports is listed in its own `person_data.py`.

- `repoint`: the documents of `coll` whose `field` holds one of the merged ids get the survivor's
  id. Idempotent by construction (a second delivery finds nothing left to change), so the
  consumers of `contacts.*.merged` need no processed-event record beyond the usual one.
- `anonymise`: the documents matching a filter get the given fields replaced (or removed);
  numbers, dates, states and ids stay. Idempotent for the same reason.
- `gather`: every document of the listed collections that matches, internal fields dropped (the
  export of one service's part of a person's data)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import NotFoundError

if TYPE_CHECKING:
    from .store import Store

MERGED_COMPANY = "contacts.company.merged"
MERGED_CONTACT = "contacts.contact.merged"
ERASED_CONTACT = "contacts.contact.erased"
ERASED = "[erased]"


@dataclass(frozen=True)
class Ref:
    """`coll.field` holds the id of a company or a contact another service owns."""

    coll: str
    field: str
    # the events of a re-pointed document, (old, new) -> [Envelope], e.g. the owner's snapshot so
    # that other services' replicas follow
    events: Callable[[dict, dict], list] | None = None


@dataclass(frozen=True)
class Blank:
    """In `coll`, the documents whose `by` is the person's id: `fields` are replaced by `ERASED`,
    `drop` ones set to None."""

    coll: str
    by: str
    fields: Sequence[str] = ()
    drop: Sequence[str] = ()
    extra: dict[str, Any] = field(default_factory=dict)


async def repoint(store: Store, refs: Iterable[Ref], old_ids: Sequence[str], new_id: str) -> int:
    """Point every reference to one of `old_ids` at `new_id`; the number of documents changed."""
    olds = [str(i) for i in old_ids if str(i) != str(new_id)]
    if not olds:
        return 0
    changed = 0
    for ref in refs:
        for doc in await store.find_all(ref.coll, {ref.field: {"$in": olds}}):

            def move(d: dict, f: str = ref.field) -> dict | None:
                return {**d, f: new_id} if d.get(f) in olds else None

            try:
                await store.mutate(ref.coll, doc["id"], move, events=ref.events or ())
                changed += 1
            except NotFoundError:
                pass
    return changed


def blanked(doc: dict, spec: Blank) -> dict | None:
    """The document with the spec's fields replaced; None if nothing changes."""
    out = dict(doc)
    for f in spec.fields:
        if out.get(f) not in (None, "", ERASED):
            out[f] = ERASED
    for f in spec.drop:
        if out.get(f) is not None:
            out[f] = None
    out.update(spec.extra)
    return out if out != doc else None


async def anonymise(store: Store, specs: Iterable[Blank], person_id: str) -> int:
    changed = 0
    for spec in specs:
        for doc in await store.find_all(spec.coll, {spec.by: str(person_id)}):
            try:
                await store.mutate(spec.coll, doc["id"], lambda d, s=spec: blanked(d, s))
                changed += 1
            except NotFoundError:
                pass
    return changed


async def gather(store: Store, sources: Iterable[tuple[str, str]], person_id: str) -> dict[str, list[dict]]:
    """{collection: [documents]} of the documents of each (collection, field) naming the person."""
    out: dict[str, list[dict]] = {}
    for coll, by in sources:
        rows = await store.find_all(coll, {by: str(person_id)}, sort=[("created_at", 1)])
        out.setdefault(coll, []).extend(rows)
    return out


def subscriptions(
    service,
    *,
    company_refs: Sequence[Ref],
    contact_refs: Sequence[Ref],
    blanks: Sequence[Blank],
    replicas: dict[str, str],
    before_merge=None,
) -> list:
    """The two consumers a service needs: `<service>.merged` re-points its references (and drops
    the replicas of the merged ids; the survivor's own snapshot event refreshes its replica), and
    `<service>.erased` anonymises what it holds on the person. `replicas` maps "Company"/"Contact"
    to the replica collection; `before_merge(store, entity, old_ids, new_id)` is a service's own
    step (e.g. folding two memberships of the same campaign into one)."""
    from .service import Subscription

    async def merged(e) -> None:
        entity = "Company" if e.type == MERGED_COMPANY else "Contact"
        old, new = [str(i) for i in e.data.get("merged_ids") or []], str(e.data["survivor_id"])
        if before_merge is not None:
            await before_merge(service.store, entity, old, new)
        await repoint(service.store, company_refs if entity == "Company" else contact_refs, old, new)
        coll = replicas.get(entity)
        for i in old if coll else []:
            try:
                await service.store.delete(coll, i)
            except NotFoundError:
                pass

    async def erased(e) -> None:
        await anonymise(service.store, blanks, str(e.data["id"]))

    return [
        Subscription("merged", [MERGED_COMPANY, MERGED_CONTACT], merged),
        Subscription("erased", [ERASED_CONTACT], erased),
    ]
