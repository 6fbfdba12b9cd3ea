"""Segment conditions over contact custom fields (CUSTOM_FIELD): validation against the field's
definition, the in-memory rule and the Store filter agreeing on a real (SQLite) store — missing
values, negations and combinations included — and the profile replica keeping the values current
from contacts' events (tests/contract/test_segments_on_stores.py runs the agreement on FerretDB too)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from services.common import customfields as cf
from services.common.envelope import Envelope
from services.common.errors import ErrorCode, InputError
from services.common.person_data import anonymise
from services.common.store.sqlite import SqliteStore
from services.marketing import person_data, profiles
from services.marketing import segments as S

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def _def(key: str, kind: str, options=None, currency=None) -> dict:
    d = cf.check_definition(key=key, entity="contact", label=key.title(), kind=kind, options=options, currency=currency)
    return {"id": f"contact.{key}", **d}


DEFS = {
    d["key"]: d
    for d in [
        _def("budget", "number"),
        _def("fee", "money", currency="EUR"),
        _def("since", "date"),
        _def("vip", "boolean"),
        _def("note", "text"),
        _def("sector", "select", options=[("Public Sector", None), ("retail", None), ("Energy", None)]),
        _def("tags", "multiselect", options=[("Gold Plus", None), ("b2b", None), ("Newsletter", None)]),
    ]
}
DEFS["sector"] = cf.retire_option(DEFS["sector"], "energy")  # retired: still filters


def stored(i: int) -> dict:
    """The `custom` map contacts stores for contact i (every field sometimes missing)."""
    raw = {
        "budget": [None, "10000", "50000", "75000.5", "-3"][i % 5],
        "fee": [None, "120.50", "99"][i % 3],
        "since": [None, "2024-01-31", "2025-06-01", "2026-02-28"][i % 4],
        "vip": [None, "yes", "no"][(i // 2) % 3],
        "note": [None, "Likes  Sailing", "likes sailing", "golf"][(i // 3) % 4],
        "sector": [None, "public sector", "Retail"][(i // 2) % 3],
        "tags": [None, "Gold Plus", "b2b;newsletter", "gold plus;B2B"][(i // 4) % 4],
    }
    live = {k: {**d, "options": [{**o, "retired": False} for o in d["options"]]} for k, d in DEFS.items()}
    out = cf.apply(list(live.values()), None, raw, creating=False)
    if i % 7 == 3:
        out["sector"] = "Energy"  # set before the option was retired
    return out


PROFILES = [{"id": f"c{i:03d}", "name": f"P{i}", "custom": S.profile_custom(stored(i))} for i in range(60)]


def cond(key: str, op: str, *values: str) -> dict:
    return S.condition("custom_field", op, list(values), key=key)


CONDITIONS = [
    cond("budget", "gte", "50000"),
    cond("budget", "gt", "50000"),
    cond("budget", "lt", "10000"),
    cond("budget", "lte", "10000"),
    cond("budget", "between", "0", "60000"),
    cond("budget", "equals", "50000"),
    cond("budget", "not_equals", "50000"),
    cond("budget", "is_set"),
    cond("budget", "is_not_set"),
    cond("fee", "gte", "100"),
    cond("fee", "between", "99", "99.00"),
    cond("since", "lt", "2025-06-01"),
    cond("since", "between", "2025-01-01", "2026-12-31"),
    cond("since", "equals", "2024-01-31"),
    cond("vip", "is_true"),
    cond("vip", "is_false"),
    cond("vip", "is_not_set"),
    cond("note", "equals", "likes sailing"),
    cond("note", "not_equals", " LIKES sailing "),
    cond("note", "in", "golf", "Likes Sailing"),
    cond("sector", "in", "public sector", "energy"),
    cond("sector", "not_in", "retail"),
    cond("sector", "equals", "Retail"),
    cond("sector", "is_set"),
    cond("tags", "in", "gold plus"),
    cond("tags", "in", "b2b", "Newsletter"),
    cond("tags", "not_in", "B2B"),
    cond("tags", "is_not_set"),
]


def check(*conds: dict, match: str = "all") -> S.Resolved:
    return S.Resolved(S.check_definition({"match": match, "conditions": list(conds)}, DEFS))


def expected(seg: S.Resolved) -> set[str]:
    return {p["id"] for p in PROFILES if S.is_member(seg, p, NOW)}


@pytest.fixture
async def contacts(tmp_path):
    store = SqliteStore(tmp_path / "s.sqlite3")
    await store.connect()
    await load(store)
    yield store
    await store.close()


async def load(store) -> None:
    for p in PROFILES:
        await store.insert("ref_contacts", dict(p))


async def ids_of(store, flt) -> set[str]:
    return {d["id"] for d in await store.find_all("ref_contacts", flt)}


async def agree(store, seg: S.Resolved) -> set[str]:
    want = expected(seg)
    flt = S.segment_filter(seg, NOW, {})
    assert await ids_of(store, flt) == want, seg.definition
    assert await ids_of(store, S.negate(flt)) == {p["id"] for p in PROFILES} - want, seg.definition
    return want


@pytest.mark.parametrize("c", CONDITIONS, ids=lambda c: f"{c['key']}-{c['op']}-{len(c['values'])}")
async def test_each_custom_condition_filter_agrees_with_the_rule(contacts, c):
    want = await agree(contacts, check(c))
    assert 0 < len(want) < len(PROFILES)


@pytest.mark.parametrize("match", ["all", "any"])
async def test_custom_combinations_agree(contacts, match):
    for a, b in itertools.islice(itertools.combinations(CONDITIONS, 2), 0, None, 5):
        await agree(contacts, check(a, b, match=match))
    # with a built-in field too
    await agree(contacts, check(CONDITIONS[0], S.condition("has_email", "is_not_set"), match=match))


def test_values_are_compared_as_the_field_kind():
    (c,) = check(cond("budget", "gte", "50000")).definition["conditions"]
    assert c["typed"] == [50000] and c["kind"] == "number" and c["values"] == ["50000"]
    (c,) = check(cond("fee", "gte", "100,5")).definition["conditions"]
    assert c["typed"] == [10050] and c["values"] == ["100.50"]  # money: minor units, shown as an amount
    (c,) = check(cond("sector", "in", "PUBLIC SECTOR", "public sector")).definition["conditions"]
    assert c["values"] == ["Public Sector"] and c["typed"] == ["public sector"]
    (c,) = check(cond("tags", "in", "gold plus")).definition["conditions"]
    assert c["values"] == ["Gold Plus"] and c["typed"] == [cf.option_key("Gold Plus")]
    # 10 000 is more than 9 500 (as numbers; as text it would not be)
    seg = check(cond("budget", "gt", "9500"))
    assert S.is_member(seg, {"id": "x", "custom": S.profile_custom({"budget": 10000})}, NOW)
    seg = check(cond("since", "gte", "2026-01-01"))
    assert not S.is_member(seg, {"id": "x", "custom": S.profile_custom({"since": "2025-12-31"})}, NOW)


def test_a_contact_whose_value_changes_leaves_the_segment():
    seg = check(cond("budget", "gte", "50000"), cond("sector", "in", "Public Sector", "Retail"))
    p = {"id": "x", "custom": S.profile_custom({"budget": 60000, "sector": "Retail"})}
    assert S.is_member(seg, p, NOW)
    assert not S.is_member(seg, {**p, "custom": S.profile_custom({"budget": 40000, "sector": "Retail"})}, NOW)
    assert not S.is_member(seg, {**p, "custom": S.profile_custom({"budget": 60000})}, NOW)
    assert not S.is_member(seg, {"id": "x"}, NOW)  # no values at all (a profile from before custom fields)


@pytest.mark.parametrize(
    ("c", "code", "says"),
    [
        (cond("shoe_size", "equals", "9"), ErrorCode.UNKNOWN_REFERENCE, "no custom field 'shoe_size'"),
        (S.condition("custom_field", "equals", ["9"]), ErrorCode.INVALID, "names the field"),
        (cond("sector", "gt", "retail"), ErrorCode.INVALID, "select field: it takes"),
        (cond("tags", "equals", "b2b"), ErrorCode.INVALID, "multiselect field"),
        (cond("budget", "is_true"), ErrorCode.INVALID, "number field"),
        (cond("vip", "equals", "yes"), ErrorCode.INVALID, "boolean field"),
        (cond("note", "between", "a", "b"), ErrorCode.INVALID, "text field"),
        (cond("budget", "before"), ErrorCode.INVALID, "number field"),
        (cond("budget", "gte", "lots"), ErrorCode.INVALID, "is not a number"),
        (cond("fee", "gte", "1.001"), ErrorCode.INVALID, "fee"),
        (cond("since", "gte", "2026-13-01"), ErrorCode.INVALID, "is not a date"),
        (cond("sector", "in", "mining"), ErrorCode.INVALID, "is not one of"),
        (cond("tags", "in", "b2b;gold plus"), ErrorCode.INVALID, "is not one of"),
        (cond("budget", "gte"), ErrorCode.INVALID, "exactly one value"),
        (cond("budget", "gte", "1", "2"), ErrorCode.INVALID, "exactly one value"),
        (cond("budget", "between", "5"), ErrorCode.INVALID, "two values"),
        (cond("budget", "between", "9", "5"), ErrorCode.INVALID, "lowest value first"),
        (cond("budget", "is_set", "5"), ErrorCode.INVALID, "takes no values"),
        (cond("sector", "in"), ErrorCode.INVALID, "at least one value"),
        (cond("note", "equals", "   "), ErrorCode.INVALID, "empty value"),
        ({**S.condition("tier", "in", ["A"]), "key": "budget"}, ErrorCode.INVALID, "only CUSTOM_FIELD"),
        (S.condition("tier", "equals", ["A"]), ErrorCode.INVALID, "TIER does not take EQUALS"),
    ],
)
def test_bad_custom_conditions_are_typed_input_errors(c, code, says):
    with pytest.raises(InputError) as exc:
        S.check_definition({"conditions": [S.condition("lifecycle", "in", ["lead"]), c]}, DEFS)
    assert exc.value.code is code and says in exc.value.message, exc.value.message
    assert exc.value.field[:4] == ["input", "definition", "conditions", "1"]


def test_without_definitions_every_custom_key_is_unknown():
    with pytest.raises(InputError) as exc:
        S.check_definition({"conditions": [cond("budget", "gte", "5")]})
    assert exc.value.code is ErrorCode.UNKNOWN_REFERENCE
    assert S.custom_keys({"conditions": [cond("budget", "gte", "5"), S.condition("tier", "is_set")]}) == {"budget"}


def test_profile_values_are_the_comparison_form():
    assert S.profile_custom(
        {"note": "  Likes   Sailing ", "tags": cf.parse(DEFS["tags"], "Gold Plus;b2b"), "budget": 3, "vip": False}
    ) == {
        "note": "likes sailing",
        "tags": {cf.option_key("gold plus"): True, cf.option_key("B2B"): True},
        "budget": 3,
        "vip": False,
    }
    assert S.profile_custom({"note": None, "tags": {}, "Bad Key": 1}) == {}
    assert cf.option_key("Gold Plus").isidentifier()


# ---- the replica, fed by events ------------------------------------------------------------------
def contact_event(version: int, custom: dict | None, **more) -> Envelope:
    data = {"id": "p1", "version": version, "name": "Pia", "email": "pia@x.test", "lifecycle": "lead", **more}
    if custom is not None:
        data["custom"] = custom
    return Envelope("contacts.contact.updated", "p1", data)


async def test_the_profile_follows_contacts_events_and_forgets_on_erasure(tmp_path):
    store = SqliteStore(tmp_path / "r.sqlite3")
    await store.connect()
    try:
        seg = S.segment_filter(check(cond("budget", "gte", "50000"), cond("sector", "in", "Retail")), NOW, {})

        async def members() -> set[str]:
            return await ids_of(store, seg)

        await profiles.on_contact(store, contact_event(1, {"budget": 60000, "sector": "Retail"}))
        assert await members() == {"p1"}
        await profiles.on_contact(store, contact_event(2, {"budget": 40000, "sector": "Retail"}))
        assert await members() == set()  # left without a rebuild
        await profiles.on_contact(store, contact_event(1, {"budget": 90000, "sector": "Retail"}))  # stale
        assert await members() == set()
        await profiles.on_contact(store, contact_event(3, {"budget": 50000, "sector": "Retail"}))
        assert await members() == {"p1"}
        await profiles.on_contact(store, contact_event(4, None))  # an event from before `custom`
        assert await members() == {"p1"}
        # erasure: contacts' snapshot of the erased person has no values, and the erased consumer
        # drops what the profile holds whichever arrives first
        await anonymise(store, person_data.BLANKS, "p1")
        assert (await store.get("ref_contacts", "p1"))["custom"] is None and await members() == set()
        await profiles.on_contact(store, contact_event(5, {}, name="Erased person", email=None))
        assert (await store.get("ref_contacts", "p1"))["custom"] == {} and await members() == set()
    finally:
        await store.close()
