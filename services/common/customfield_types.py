"""GraphQL face of custom fields (services/common/customfields.py), shared by every subgraph that
has records with custom fields: the typed value list (`customFields { key label value … }`), the
filter and sort inputs of list queries, and the value input of `set…CustomFields`. Shareable and
defined once, so the subgraphs cannot drift apart. Definitions are read from a collection of the
service (contacts: its own definitions; others: their replica of contacts' definitions), which
have the same shape."""

from __future__ import annotations

import datetime as dt
import decimal

import strawberry
from strawberry.dataloader import DataLoader

from . import customfields as cf
from .errors import ErrorCode, InputError, PublicError
from .graphql import Money
from .values import all_of


@strawberry.federation.type(shareable=True, description="An option of a select custom field.")
class CustomFieldOption:
    value: str
    label: str
    retired: bool = strawberry.field(description="Removed from the definition: kept on records, not choosable.")


@strawberry.federation.type(shareable=True, description="The value of one custom field of a record.")
class CustomFieldValue:
    key: str
    label: str
    kind: str = strawberry.field(description="text, number, money, date, boolean, select or multiselect.")
    help: str | None
    value: str | None = strawberry.field(description="The value as text (multi-select: options joined by ;).")
    number: float | None
    money: Money | None
    date: dt.date | None
    boolean: bool | None
    options: list[CustomFieldOption] = strawberry.field(description="Select kinds: the chosen options.")
    is_default: bool = strawberry.field(description="The record has no value; this is the definition's default.")

    @classmethod
    def from_view(cls, v: dict) -> CustomFieldValue:
        return cls(
            key=v["key"],
            label=v["label"],
            kind=v["kind"],
            help=v["help"],
            value=v["value"],
            number=v["number"],
            money=Money.from_minor(v["amount_minor"], v["currency"]),
            date=dt.date.fromisoformat(v["date"]) if v["date"] else None,
            boolean=v["boolean"],
            options=[CustomFieldOption(**o) for o in v["options"]],
            is_default=v["is_default"],
        )


@strawberry.input(description="A condition on one custom field; values in their text form.")
class CustomFieldFilter:
    key: str
    eq: str | None = None
    gte: str | None = None
    lte: str | None = None
    any_of: list[str] | None = strawberry.field(default=None, description="Any of these values (options).")
    is_set: bool | None = strawberry.field(default=None, description="Whether the record has a value.")


@strawberry.input(description="Sort a list by a custom field (only records with a value are listed).")
class CustomFieldSort:
    key: str
    descending: bool = False


@strawberry.input(description="A custom field's new value, as text; null or empty clears it.")
class CustomFieldInput:
    key: str
    value: str | None = None


_ = decimal  # Money's amount type


async def definitions(context, coll: str, entity: str) -> list[dict]:
    """The definitions of `entity` in `coll`, once per request (a DataLoader keyed by entity)."""
    store = context.store

    async def load(entities: list[str]) -> list[list[dict]]:
        rows = await store.find_all(coll, {"entity": {"$in": entities}})
        rows.sort(key=lambda d: (d.get("position", 0), d["key"]))
        return [[d for d in rows if d["entity"] == e] for e in entities]

    return await context.loader(f"cfdefs:{coll}", lambda: DataLoader(load_fn=load)).load(entity)


async def values_of(context, coll: str, entity: str, custom: dict | None) -> list[CustomFieldValue]:
    return [CustomFieldValue.from_view(v) for v in cf.view(await definitions(context, coll, entity), custom)]


async def list_clauses(
    context, coll: str, entity: str, filters: list[CustomFieldFilter] | None, sort: CustomFieldSort | None
) -> tuple[dict, list[tuple[str, int]]]:
    """The store filter and sort of a list query's custom-field conditions (PublicError for an
    unknown field or a bad value, like any bad argument)."""
    if not filters and not sort:
        return {}, []
    defs = {d["key"]: d for d in await definitions(context, coll, entity)}

    def known(key: str) -> dict:
        d = defs.get(key)
        if d is None:
            raise PublicError(f"no custom field {key!r} for {entity}")
        return d

    clauses = []
    try:
        for f in filters or []:
            clauses.append(
                cf.filter_clause(known(f.key), eq=f.eq, gte=f.gte, lte=f.lte, any_of=f.any_of, is_set=f.is_set)
            )
        order: list[tuple[str, int]] = []
        if sort is not None:
            d = known(sort.key)
            order = cf.sort_spec(d, sort.descending)
            clauses.append(cf.filter_clause(d, is_set=True))
    except InputError as exc:
        raise PublicError(exc.message) from None
    return all_of(*clauses), order


async def record_values(context, coll: str, defs: str, entity: str, record_id) -> list[CustomFieldValue] | None:
    """The `customFields` of a record the principal may see (None otherwise), definitions from `defs`."""
    doc = await context.get(coll, str(record_id))
    if doc is None:
        return None
    return await values_of(context, defs, entity, doc.get("custom"))


async def set_values(
    context, coll: str, type_name: str, defs: str, entity: str, record_id, values, expected_version, events=None
) -> dict:
    """Set custom values of a record the principal may see (validated against `defs`), with the
    change's events and its audit record in the same write (Context.update)."""
    raw = values_input(values)
    found = await definitions(context, defs, entity)

    def change(d: dict) -> dict:
        return {**d, "custom": cf.apply(found, d.get("custom"), raw, creating=False)}

    doc = await context.update(coll, type_name, record_id, change, expected_version=expected_version, events=events)
    # the request's loader read the record before the change: the payload's customFields show the new one
    loader = context.by_id(coll)
    loader.clear(str(record_id))
    loader.prime(str(record_id), doc)
    return doc


def values_input(values: list[CustomFieldInput]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for v in values:
        if v.key in out:
            raise InputError(ErrorCode.INVALID, f"{v.key} is given twice", ["input", "values"])
        out[v.key] = v.value
    if len(out) > cf.MAX_FIELDS:
        raise InputError(ErrorCode.INVALID, f"at most {cf.MAX_FIELDS} values", ["input", "values"])
    return out
