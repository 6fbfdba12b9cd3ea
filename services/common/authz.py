"""Authorisation (docs/security.md): who may use which field, and which rows they see.

Two layers, both enforced in the subgraph that owns the data:

* **Field rules** — `allow(...)` on a field: the roles that may resolve it. Every root field and
  every field with a resolver must carry a rule; `build_schema` refuses a schema where one does
  not (so a new field cannot ship without a decision). A denied field is `null` with a FORBIDDEN
  error naming the field and the role, never a hint about data.
* **Row scopes** — each service's `row_scope(principal, collection)` returns the filter a
  principal's reads and writes of that collection are confined to. It is ANDed into every find,
  count and aggregate, and checked on every document fetched by id (root fields, `_entities`,
  DataLoaders). A row outside the scope is indistinguishable from a row that does not exist:
  `null`, NOT_FOUND or UNKNOWN_REFERENCE with the same message, and totals that never count it.
  Collections a service does not list for a role are out of scope entirely (default deny).
"""

from __future__ import annotations

from collections.abc import Iterable

from graphql import GraphQLError, GraphQLNonNull, GraphQLObjectType
from strawberry.extensions import FieldExtension

from .auth import ADMIN, CUSTOMER, MARKETING, PARTNER, PORTAL, ROLES, SALES, STAFF, SUPPORT, Principal

__all__ = [
    "ADMIN",
    "ALL_ROWS",
    "CUSTOMER",
    "EVERYONE",
    "MARKETING",
    "NO_ROWS",
    "PARTNER",
    "PORTAL",
    "ROLES",
    "SALES",
    "STAFF",
    "SUPPORT",
    "Forbidden",
    "Rule",
    "allow",
    "check_rules",
    "field_rules",
    "matches",
    "narrow",
    "rules_of",
]

EVERYONE = frozenset(ROLES)
ALL_ROWS: dict = {}
NO_ROWS: dict = {"id": {"$in": []}}


class Forbidden(GraphQLError):
    def __init__(self, message: str):
        super().__init__(message, extensions={"code": "FORBIDDEN"})


class Rule(FieldExtension):
    """Field extension: only `roles` may resolve the field. `scoped` documents (for the role
    matrix) which of them see only their own rows; the rows themselves are confined by the
    service's row scope, not here."""

    def __init__(self, roles: Iterable[str], scoped: Iterable[str] = ()):
        self.roles = frozenset(roles)
        self.scoped = frozenset(scoped)
        unknown = (self.roles | self.scoped) - EVERYONE
        assert not unknown, f"unknown roles {unknown}"
        assert self.scoped <= self.roles, "scoped roles must be allowed roles"

    def check(self, info) -> None:
        principal: Principal | None = getattr(info.context, "principal", None)
        if principal is None or principal.role not in self.roles:
            role = principal.role if principal else "anonymous"
            parent = getattr(info, "_raw_info", info).parent_type.name
            raise Forbidden(f"role {role} may not use {parent}.{info.field_name}")

    def resolve(self, next_, source, info, **kwargs):
        self.check(info)
        return next_(source, info, **kwargs)

    async def resolve_async(self, next_, source, info, **kwargs):
        self.check(info)
        return await next_(source, info, **kwargs)


def allow(*roles: str | Iterable[str], scoped: Iterable[str] = ()) -> list[Rule]:
    """`@strawberry.field(extensions=allow(STAFF, PARTNER, scoped={PARTNER}))`."""
    flat: set[str] = set()
    for r in roles:
        flat |= {r} if isinstance(r, str) else set(r)
    return [Rule(flat, scoped)]


def _definition(gfield):
    return (gfield.extensions or {}).get("strawberry-definition")


def rules_of(gfield) -> list[Rule]:
    return [e for e in getattr(_definition(gfield), "extensions", None) or [] if isinstance(e, Rule)]


def _object_fields(schema):
    """(type name, field name, GraphQL field) of every object type the subgraph defines
    (introspection types and federation's `_Service` left out)."""
    for name, gtype in schema._schema.type_map.items():
        if not name.startswith("_") and isinstance(gtype, GraphQLObjectType):
            for fname, gfield in gtype.fields.items():
                yield name, fname, gfield


FEDERATION_ROOTS = {"_entities", "_service"}


def check_rules(schema) -> None:
    """Refuse a schema with a root field, or a field with its own resolver, that has no rule."""
    missing, not_nullable = [], []
    gschema = schema._schema
    roots = {t.name for t in (gschema.query_type, gschema.mutation_type) if t is not None}
    for name, fname, gfield in _object_fields(schema):
        if name in roots and fname in FEDERATION_ROOTS:
            continue  # scoped by resolve_reference (rows) and the introspection guard (_service)
        needs = name in roots or getattr(_definition(gfield), "base_resolver", None) is not None
        rules = rules_of(gfield)
        if needs and not rules:
            missing.append(f"{name}.{fname}")
        elif rules and rules[0].roles != EVERYONE and isinstance(gfield.type, GraphQLNonNull):
            # a refused non-null field would null its parent too (and with it, allowed data)
            not_nullable.append(f"{name}.{fname}")
    if missing:
        raise AssertionError("fields without an authorisation rule (services/common/authz.py): " + ", ".join(missing))
    if not_nullable:
        raise AssertionError("fields some roles may not use must be nullable: " + ", ".join(not_nullable))


def field_rules(schema) -> dict[str, Rule]:
    """`{"Query.deals": Rule, ...}` for every field that has a rule (docs and tests read it)."""
    return {
        f"{name}.{fname}": rules[0] for name, fname, gfield in _object_fields(schema) if (rules := rules_of(gfield))
    }


# ---- row scopes ---------------------------------------------------------------------------------
def narrow(scope: dict, flt: dict | None) -> dict:
    """`flt` confined to `scope` (both Store filters)."""
    if not flt:
        return scope
    if not scope:
        return flt
    return {"$and": [scope, flt]}


def matches(doc: dict | None, flt: dict) -> bool:
    """Does `doc` satisfy a scope filter? Supports what scopes use: equality, `$in`, `$and`, `$or`."""
    if doc is None:
        return False
    for key, cond in flt.items():
        if key == "$and":
            if not all(matches(doc, f) for f in cond):
                return False
        elif key == "$or":
            if not any(matches(doc, f) for f in cond):
                return False
        elif isinstance(cond, dict):
            for op, value in cond.items():
                if op == "$in":
                    if doc.get(key) not in value:
                        return False
                elif op == "$eq":
                    if doc.get(key) != value:
                        return False
                else:
                    raise ValueError(f"scope operator {op} is not supported in memory")
        elif doc.get(key) != cond:
            return False
    return True
