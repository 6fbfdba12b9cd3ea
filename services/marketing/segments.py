"""Segment rules (plain: no strawberry import, unit-tested in tests/unit/test_marketing_segments.py).

A segment's definition is a JSON-able dict:

    {"match": "all" | "any",
     "conditions": [{"field": "lifecycle", "op": "in", "values": ["prospect"]},
                    {"field": "last_activity_at", "op": "before", "days": 90}, ...],
     "include_segments": [segment ids], "exclude_segments": [segment ids]}

plus its static entries (contact ids added or removed by hand, kept as records beside it).
Members = (conditions match, or a static "include" entry, or member of an included segment)
and not (a static "exclude" entry, or member of an excluded segment). A definition with no
conditions is a static list.

Conditions are evaluated over a contact **profile**: marketing's replica row of the contact
(`ref_contacts`, fed by events, see profiles.py): lifecycle, company kind, industry, city, country,
value tier (from the company replica), owner, e-mail, last activity time, deal status flags, the
campaigns responded to, and the contact's custom-field values (`custom`, in the comparison form
`profile_custom` gives them; a CUSTOM_FIELD condition names the field's key and carries its kind,
checked against marketing's replica of contacts' definitions when the segment is saved).
`matches()` evaluates in memory; `to_filter()` gives the equivalent Store filter (both agree,
including on missing values: the unit tests check them against each other on a real store), so
membership is computed on read and is current the moment an event
has updated the replica — nothing to rebuild."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum
from typing import Any

from services.common import customfields as cf
from services.common.errors import ErrorCode, InputError
from services.common.ids import iso

MAX_CONDITIONS = 20
MAX_VALUES = 200
MAX_NESTING = 3
MAX_STATIC = 10_000


class Field(Enum):
    LIFECYCLE = "lifecycle"
    COMPANY_KIND = "company_kind"
    INDUSTRY = "industry"
    CITY = "city"
    COUNTRY = "country"
    TIER = "tier"
    OWNER = "owner"
    HAS_EMAIL = "has_email"
    LAST_ACTIVITY_AT = "last_activity_at"
    RESPONDED_TO_CAMPAIGN = "responded_to_campaign"
    DEAL_STATUS = "deal_status"
    CUSTOM_FIELD = "custom_field"  # a contact custom field, named by `key`


class Op(Enum):
    IN = "in"
    NOT_IN = "not_in"
    BEFORE = "before"  # last activity before the time, or none at all
    AFTER = "after"  # last activity at or after the time
    IS_SET = "is_set"
    IS_NOT_SET = "is_not_set"
    # custom fields (the operators each kind takes: CUSTOM_OPS)
    EQUALS = "equals"
    NOT_EQUALS = "not_equals"  # a contact without a value is "not equal", as for NOT_IN
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    BETWEEN = "between"  # two values, both bounds included
    IS_TRUE = "is_true"
    IS_FALSE = "is_false"  # a stored "no" (a contact without a value: IS_NOT_SET)


class Match(Enum):
    ALL = "all"
    ANY = "any"


DEAL_STATUSES = ("open", "won", "lost")
# the profile field a value field is compared on, and how values are normalised
_KEYED = {
    Field.LIFECYCLE: ("lifecycle", str.lower),
    Field.COMPANY_KIND: ("company_kind", str.lower),
    Field.INDUSTRY: ("industry_key", str.casefold),
    Field.CITY: ("city_key", str.casefold),
    Field.COUNTRY: ("country", str.upper),
    Field.TIER: ("tier", str.upper),
    Field.OWNER: ("owner", lambda v: v),
}
_OPS = {
    **{f: {Op.IN, Op.NOT_IN, Op.IS_SET, Op.IS_NOT_SET} for f in _KEYED},
    Field.HAS_EMAIL: {Op.IS_SET, Op.IS_NOT_SET},
    Field.LAST_ACTIVITY_AT: {Op.BEFORE, Op.AFTER, Op.IS_SET, Op.IS_NOT_SET},
    Field.RESPONDED_TO_CAMPAIGN: {Op.IN, Op.NOT_IN},
    Field.DEAL_STATUS: {Op.IN, Op.NOT_IN},
}


_ORDERED = {Op.EQUALS, Op.NOT_EQUALS, Op.GT, Op.GTE, Op.LT, Op.LTE, Op.BETWEEN, Op.IS_SET, Op.IS_NOT_SET}
_CHOICE = {Op.EQUALS, Op.NOT_EQUALS, Op.IN, Op.NOT_IN, Op.IS_SET, Op.IS_NOT_SET}
# the operators of a custom field, by the definition's kind (docs/marketing.md)
CUSTOM_OPS = {
    "text": _CHOICE,
    "select": _CHOICE,
    "multiselect": {Op.IN, Op.NOT_IN, Op.IS_SET, Op.IS_NOT_SET},  # any of / none of the options
    "number": _ORDERED,
    "money": _ORDERED,
    "date": _ORDERED,
    "boolean": {Op.IS_TRUE, Op.IS_FALSE, Op.IS_SET, Op.IS_NOT_SET},
}
_ONE_VALUE = {Op.EQUALS, Op.NOT_EQUALS, Op.GT, Op.GTE, Op.LT, Op.LTE}
_NO_VALUE = {Op.IS_SET, Op.IS_NOT_SET, Op.IS_TRUE, Op.IS_FALSE}
_CMP = {Op.GT: "$gt", Op.GTE: "$gte", Op.LT: "$lt", Op.LTE: "$lte"}


def key(text: str | None) -> str | None:
    """The comparison key of a free-text profile value (industry, city)."""
    return " ".join(text.split()).casefold() if text else None


def profile_value(value: Any) -> Any:
    """A stored custom-field value (services/common/customfields.py) in the form a profile keeps
    and rules compare: text, select options and dates folded like `key` (dates are unchanged by
    it), a multi-select as `{cf.option_key(option): True}`, numbers, amounts and booleans as they are; None
    for nothing."""
    if isinstance(value, str):
        return key(value)
    if isinstance(value, dict):  # a multi-select: {option key: option value}
        return {cf.option_key(v): True for v in sorted(cf.options_of(value))} or None
    if isinstance(value, list):
        return {cf.option_key(str(o)): True for o in value} or None
    return value


def profile_custom(custom: dict | None) -> dict:
    """A contact's custom-field values as its profile keeps them (keys without a value left out)."""
    out = {k: profile_value(v) for k, v in (custom or {}).items() if cf.KEY.match(str(k))}
    return {k: v for k, v in out.items() if v is not None}


def _bad(msg: str, i: int | None = None) -> InputError:
    path = ["input", "definition", "conditions", str(i)] if i is not None else ["input", "definition"]
    return InputError(ErrorCode.INVALID, msg, path)


def condition(
    field: str,
    op: str,
    values: list[str] | None = None,
    at: str | None = None,
    days: int | None = None,
    key: str | None = None,
):
    out = {"field": field, "op": op, "values": values or [], "at": at, "days": days}
    return {**out, "key": key} if key is not None else out


def check_custom(c: dict, defs: dict[str, dict], i: int) -> dict:
    """A CUSTOM_FIELD condition checked against the contact field's definition (`defs`: key →
    definition, marketing's replica of contacts' definitions): the operator must suit the kind and
    the values parse as the kind's values (a retired field or option still filters, like a list
    filter). The stored condition keeps the values as text (normalised), the definition's `kind`
    and the comparison values (`typed`), so evaluating it needs no definition."""
    k = str(c.get("key") or "").strip()
    if not k:
        raise _bad("a CUSTOM_FIELD condition names the field (customField: its key)", i)
    d = defs.get(k)
    if d is None:
        raise InputError(
            ErrorCode.UNKNOWN_REFERENCE,
            f"contacts have no custom field {k!r}",
            ["input", "definition", "conditions", str(i), "customField"],
        )
    op, kind = Op(c["op"]), d["kind"]
    if op not in CUSTOM_OPS[kind]:
        takes = ", ".join(o.name for o in Op if o in CUSTOM_OPS[kind])
        raise _bad(f"{k} is a {kind} field: it takes {takes}, not {op.name}", i)
    raw = [str(v) for v in c.get("values") or []]
    n = len(raw)
    if op in _NO_VALUE and n:
        raise _bad(f"{op.name} takes no values", i)
    if op in _ONE_VALUE and n != 1:
        raise _bad(f"{op.name} takes exactly one value", i)
    if op is Op.BETWEEN and n != 2:
        raise _bad("BETWEEN takes two values: the lowest and the highest", i)
    if op in (Op.IN, Op.NOT_IN) and not n:
        raise _bad(f"{k} {op.name} needs at least one value", i)
    if n > MAX_VALUES:
        raise _bad(f"at most {MAX_VALUES} values", i)
    filterable = {**d, "options": [{**o, "retired": False} for o in d.get("options") or []]}
    parsed = []
    for v in raw:
        try:
            if kind == "multiselect":  # one option per value (";" is no separator here)
                p = cf.parse({**filterable, "kind": "select"}, v, field=k)
            else:
                p = cf.parse(filterable, v, field=k)
        except InputError as exc:
            raise _bad(exc.message, i) from None
        if p is None:
            raise _bad(f"{k}: an empty value (IS_NOT_SET finds contacts without one)", i)
        parsed.append(p)
    if op in (Op.IN, Op.NOT_IN):
        parsed = list(dict.fromkeys(parsed))
    if op is Op.BETWEEN and parsed[0] > parsed[1]:
        raise _bad(f"{k} BETWEEN: the lowest value first, then the highest", i)
    shown = {**d, "kind": "select"} if kind == "multiselect" else d
    typed = [cf.option_key(p) for p in parsed] if kind == "multiselect" else [profile_value(p) for p in parsed]
    return {
        **condition(Field.CUSTOM_FIELD.value, op.value, [cf.text_of(shown, p) for p in parsed], key=k),
        "kind": kind,
        "typed": typed,
    }


def custom_keys(defn: dict) -> set[str]:
    """The custom fields a (not yet checked) definition's conditions name."""
    return {str(c.get("key")) for c in defn.get("conditions") or [] if c.get("field") == Field.CUSTOM_FIELD.value}


def check_definition(defn: dict, custom_defs: dict[str, dict] | None = None) -> dict:
    """The definition, validated and normalised (values trimmed and de-duplicated, enums known).
    `custom_defs`: the contact custom-field definitions by key, for CUSTOM_FIELD conditions."""
    match = Match(defn.get("match") or "all").value
    conds = defn.get("conditions") or []
    if len(conds) > MAX_CONDITIONS:
        raise _bad(f"at most {MAX_CONDITIONS} conditions")
    out = []
    for i, c in enumerate(conds):
        try:
            f, op = Field(c["field"]), Op(c["op"])
        except (KeyError, ValueError) as exc:
            raise _bad(f"unknown field or operator: {exc}", i) from None
        if f is Field.CUSTOM_FIELD:
            out.append(check_custom(c, custom_defs or {}, i))
            continue
        if c.get("key") is not None:
            raise _bad(f"only CUSTOM_FIELD conditions name a custom field, not {f.name}", i)
        if op not in _OPS[f]:
            raise _bad(f"{f.name} does not take {op.name}", i)
        values = list(dict.fromkeys(" ".join(str(v).split()) for v in c.get("values") or []))
        values = [v for v in values if v]
        if op in (Op.IN, Op.NOT_IN) and not values:
            raise _bad(f"{f.name} {op.name} needs at least one value", i)
        if len(values) > MAX_VALUES or any(len(v) > 200 for v in values):
            raise _bad(f"at most {MAX_VALUES} values of at most 200 characters", i)
        if f is Field.DEAL_STATUS and set(v.lower() for v in values) - set(DEAL_STATUSES):
            raise _bad(f"deal status is one of {', '.join(DEAL_STATUSES)}", i)
        at, days = c.get("at"), c.get("days")
        if op in (Op.BEFORE, Op.AFTER):
            if (at is None) == (days is None):
                raise _bad("give either a time (at) or a number of days before now (days)", i)
            if days is not None and not 0 <= int(days) <= 36500:
                raise _bad("days must lie between 0 and 36500", i)
        out.append(condition(f.value, op.value, values, at if op in (Op.BEFORE, Op.AFTER) else None, days))
    inc = list(dict.fromkeys(str(s) for s in defn.get("include_segments") or []))
    exc = list(dict.fromkeys(str(s) for s in defn.get("exclude_segments") or []))
    if set(inc) & set(exc):
        raise _bad("a segment cannot be both included and excluded")
    return {"match": match, "conditions": out, "include_segments": inc, "exclude_segments": exc}


def _threshold(c: dict, now: dt.datetime) -> str:
    if c.get("at"):
        return c["at"]
    return iso(now - dt.timedelta(days=int(c["days"])))


# ---- in memory ---------------------------------------------------------------------------------
def custom_matches(c: dict, profile: dict) -> bool:
    op, typed = Op(c["op"]), c.get("typed") or []
    value = (profile.get("custom") or {}).get(c["key"])
    if op is Op.IS_SET:
        return value is not None
    if op is Op.IS_NOT_SET:
        return value is None
    if c.get("kind") == "multiselect":
        hit = isinstance(value, dict) and any(value.get(t) is True for t in typed)
        return hit if op is Op.IN else not hit
    if op is Op.IS_TRUE:
        return value is True
    if op is Op.IS_FALSE:
        return value is False
    if op is Op.EQUALS:
        return value is not None and value == typed[0]
    if op is Op.NOT_EQUALS:
        return value is None or value != typed[0]
    if op is Op.IN:
        return value is not None and value in typed
    if op is Op.NOT_IN:
        return value is None or value not in typed
    if value is None or isinstance(value, (bool, dict)):
        return False
    try:
        if op is Op.BETWEEN:
            return typed[0] <= value <= typed[1]
        t = typed[0]
        return {Op.GT: value > t, Op.GTE: value >= t, Op.LT: value < t, Op.LTE: value <= t}[op]
    except TypeError:  # a value of another type than the field's (never written by contacts)
        return False


def condition_matches(c: dict, profile: dict, now: dt.datetime) -> bool:
    f, op = Field(c["field"]), Op(c["op"])
    if f is Field.CUSTOM_FIELD:
        return custom_matches(c, profile)
    if f in _KEYED:
        fld, norm = _KEYED[f]
        value = profile.get(fld)
        if op is Op.IS_SET:
            return value is not None
        if op is Op.IS_NOT_SET:
            return value is None
        wanted = {norm(v) for v in c["values"]}
        return (value in wanted) if op is Op.IN else (value not in wanted)
    if f is Field.HAS_EMAIL:
        has = bool(profile.get("email"))
        return has if op is Op.IS_SET else not has
    if f is Field.LAST_ACTIVITY_AT:
        last = profile.get("last_activity_at")
        if op is Op.IS_SET:
            return last is not None
        if op is Op.IS_NOT_SET:
            return last is None
        t = _threshold(c, now)
        return (last is None or last < t) if op is Op.BEFORE else (last is not None and last >= t)
    if f is Field.RESPONDED_TO_CAMPAIGN:
        hit = bool(set(c["values"]) & set(profile.get("responded_campaigns") or []))
        return hit if op is Op.IN else not hit
    # deal status: flags deal_open / deal_won / deal_lost
    hit = any(profile.get(f"deal_{v.lower()}") is True for v in c["values"])
    return hit if op is Op.IN else not hit


def rules_match(defn: dict, profile: dict, now: dt.datetime) -> bool:
    """Do the definition's conditions hold for the profile? (No conditions: never — a static list.)"""
    conds = defn.get("conditions") or []
    if not conds:
        return False
    results = (condition_matches(c, profile, now) for c in conds)
    return all(results) if defn.get("match", "all") == "all" else any(results)


@dataclass
class Resolved:
    """A segment's definition with what it refers to already loaded: its static entries and the
    resolved definitions of the segments it includes or excludes."""

    definition: dict
    include_ids: frozenset[str] = frozenset()
    exclude_ids: frozenset[str] = frozenset()
    includes: tuple[Resolved, ...] = ()
    excludes: tuple[Resolved, ...] = ()


def is_member(seg: Resolved, profile: dict, now: dt.datetime) -> bool:
    return member_test(seg, now)(profile)


def _condition_test(c: dict, now: dt.datetime):
    """`condition_matches` for one condition, with its values normalised once (for many profiles)."""
    f, op = Field(c["field"]), Op(c["op"])
    if f in _KEYED and op in (Op.IN, Op.NOT_IN):
        fld, norm = _KEYED[f]
        wanted = frozenset(norm(v) for v in c["values"])
        if op is Op.IN:
            return lambda p: p.get(fld) in wanted
        return lambda p: p.get(fld) not in wanted
    if f is Field.LAST_ACTIVITY_AT and op in (Op.BEFORE, Op.AFTER):
        t = _threshold(c, now)
        if op is Op.BEFORE:
            return lambda p: p.get("last_activity_at") is None or p["last_activity_at"] < t
        return lambda p: p.get("last_activity_at") is not None and p["last_activity_at"] >= t
    return lambda p: condition_matches(c, p, now)


def member_test(seg: Resolved, now: dt.datetime):
    """The membership rule of a resolved segment as one function of a profile (is_member, with
    everything that does not depend on the profile worked out once)."""
    conds = [_condition_test(c, now) for c in seg.definition.get("conditions") or []]
    every = seg.definition.get("match", "all") == "all"
    includes = [member_test(s, now) for s in seg.includes]
    excludes = [member_test(s, now) for s in seg.excludes]

    def rules(p: dict) -> bool:
        if not conds:
            return False
        return all(t(p) for t in conds) if every else any(t(p) for t in conds)

    def test(p: dict) -> bool:
        cid = p["id"]
        if cid in seg.exclude_ids or any(t(p) for t in excludes):
            return False
        return cid in seg.include_ids or rules(p) or any(t(p) for t in includes)

    return test


# ---- as a store filter -------------------------------------------------------------------------
NOTHING: dict = {"id": {"$in": []}}


def custom_filter(c: dict) -> dict:
    """The Store filter of a CUSTOM_FIELD condition over `ref_contacts` (`custom.<key>`)."""
    op, typed, path = Op(c["op"]), c.get("typed") or [], f"custom.{c['key']}"
    if op is Op.IS_SET:
        return {path: {"$ne": None}}
    if op is Op.IS_NOT_SET:
        return {path: None}
    if c.get("kind") == "multiselect":
        flags = [f"{path}.{t}" for t in sorted(set(typed))]
        if op is Op.IN:
            return {flags[0]: True} if len(flags) == 1 else {"$or": [{fl: True} for fl in flags]}
        return {"$and": [{fl: {"$ne": True}} for fl in flags]}
    if op in (Op.IS_TRUE, Op.IS_FALSE):
        return {path: op is Op.IS_TRUE}
    if op is Op.EQUALS:
        return {path: typed[0]}
    if op is Op.NOT_EQUALS:
        return {path: {"$ne": typed[0]}}
    if op is Op.IN:
        return {path: {"$in": sorted(typed)}}
    if op is Op.NOT_IN:
        return {path: {"$nin": sorted(typed)}}
    if op is Op.BETWEEN:
        return {path: {"$gte": typed[0], "$lte": typed[1]}}
    return {path: {_CMP[op]: typed[0]}}


def condition_filter(c: dict, now: dt.datetime, responders: dict[str, list[str]]) -> dict:
    """The Store filter of one condition over `ref_contacts`. `responders` maps each campaign id
    the condition names to the ids of the contacts who responded to it."""
    f, op = Field(c["field"]), Op(c["op"])
    if f is Field.CUSTOM_FIELD:
        return custom_filter(c)
    if f in _KEYED:
        fld, norm = _KEYED[f]
        if op is Op.IS_SET:
            return {fld: {"$ne": None}}
        if op is Op.IS_NOT_SET:
            return {fld: None}
        wanted = sorted({norm(v) for v in c["values"]})
        return {fld: {"$in": wanted}} if op is Op.IN else {fld: {"$nin": wanted}}
    if f is Field.HAS_EMAIL:
        return {"email": {"$nin": [None, ""]}} if op is Op.IS_SET else {"email": {"$in": [None, ""]}}
    if f is Field.LAST_ACTIVITY_AT:
        if op is Op.IS_SET:
            return {"last_activity_at": {"$ne": None}}
        if op is Op.IS_NOT_SET:
            return {"last_activity_at": None}
        t = _threshold(c, now)
        if op is Op.BEFORE:
            return {"$or": [{"last_activity_at": None}, {"last_activity_at": {"$lt": t}}]}
        return {"last_activity_at": {"$gte": t}}
    if f is Field.RESPONDED_TO_CAMPAIGN:
        ids = sorted({i for v in c["values"] for i in responders.get(v, [])})
        return {"id": {"$in": ids}} if op is Op.IN else ({"id": {"$nin": ids}} if ids else {})
    flags = [{f"deal_{v.lower()}": True} for v in sorted(set(c["values"]))]
    if op is Op.IN:
        return flags[0] if len(flags) == 1 else {"$or": flags}
    return {"$and": [{k: {"$ne": True}} for fl in flags for k in fl]}


def rules_filter(defn: dict, now: dt.datetime, responders: dict[str, list[str]]) -> dict:
    conds = defn.get("conditions") or []
    if not conds:
        return NOTHING
    parts = [condition_filter(c, now, responders) for c in conds]
    if defn.get("match", "all") == "all":
        parts = [p for p in parts if p]
        return {} if not parts else parts[0] if len(parts) == 1 else {"$and": parts}
    if any(not p for p in parts):
        return {}  # one condition that holds for everyone
    return parts[0] if len(parts) == 1 else {"$or": parts}


def _negate_field(fld: str, cond: Any) -> dict:
    if not isinstance(cond, dict):
        return {fld: {"$ne": cond}}
    parts = []
    for op, v in cond.items():
        if op == "$in":
            parts.append({fld: {"$nin": v}})
        elif op == "$nin":
            parts.append({fld: {"$in": v}})
        elif op == "$eq":
            parts.append({fld: {"$ne": v}})
        elif op == "$ne":
            parts.append({fld: v})
        elif op in ("$gt", "$gte", "$lt", "$lte"):
            flip = {"$gt": "$lte", "$gte": "$lt", "$lt": "$gte", "$lte": "$gt"}[op]
            parts.append({"$or": [{fld: None}, {fld: {flip: v}}]})
        else:
            raise ValueError(f"cannot negate {op}")
    return parts[0] if len(parts) == 1 else {"$or": parts}


def negate(flt: dict) -> dict:
    """The Store filter matching exactly the documents `flt` does not (missing = null semantics,
    the same on SQLite and MongoDB)."""
    if not flt:
        return NOTHING
    if flt == NOTHING:
        return {}
    parts = []
    for k, cond in flt.items():
        if k == "$and":
            parts.append({"$or": [negate(c) for c in cond]})
        elif k == "$or":
            parts.append({"$and": [negate(c) for c in cond]})
        else:
            parts.append(_negate_field(k, cond))
    return parts[0] if len(parts) == 1 else {"$or": parts}


def segment_filter(seg: Resolved, now: dt.datetime, responders: dict[str, list[str]]) -> dict:
    """The Store filter of a resolved segment's members over `ref_contacts`."""
    include = [rules_filter(seg.definition, now, responders)]
    if seg.include_ids:
        include.append({"id": {"$in": sorted(seg.include_ids)}})
    include += [segment_filter(s, now, responders) for s in seg.includes]
    include = [p for p in include if p != NOTHING]
    if not include:
        return NOTHING
    base = {} if any(not p for p in include) else include[0] if len(include) == 1 else {"$or": include}
    exclude = []
    if seg.exclude_ids:
        exclude.append({"id": {"$nin": sorted(seg.exclude_ids)}})
    exclude += [negate(segment_filter(s, now, responders)) for s in seg.excludes]
    parts = [p for p in [base, *exclude] if p]
    if any(p == NOTHING for p in parts):
        return NOTHING
    return {} if not parts else parts[0] if len(parts) == 1 else {"$and": parts}


def campaigns_named(seg: Resolved) -> set[str]:
    """Every campaign a RESPONDED_TO_CAMPAIGN condition of the segment (or its nested ones) names."""
    out = {
        v
        for c in seg.definition.get("conditions") or []
        if c["field"] == Field.RESPONDED_TO_CAMPAIGN.value
        for v in c["values"]
    }
    for s in (*seg.includes, *seg.excludes):
        out |= campaigns_named(s)
    return out
