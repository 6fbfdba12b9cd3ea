"""The kernel's plain value rules: text, timestamps and dates, money, document measures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from graphql import build_schema, parse

from devtools.hostile import fragment_bomb
from services.common import money
from services.common.errors import ErrorCode, InputError
from services.common.ids import iso
from services.common.limits import measure
from services.common.values import all_of, clean_text, date_input, equal, pick, ts_input


# ---- text --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "bad", ["a\x00", "a\x1b[31m", "a\u202eb", "a\u2066b", "a\u200bb", "a\ufeff", "a\x85", "a\ud800"]
)
def test_control_bidi_zero_width_and_surrogates_are_refused(bad):
    with pytest.raises(InputError) as e:
        clean_text(bad, "name")
    assert e.value.code is ErrorCode.INVALID and e.value.field == ["input", "name"]
    assert "U+" in e.value.message


def test_text_is_nfc_with_white_space_folded():
    assert clean_text("  Cafe\u0301 \t Design\n", "name") == "Caf\u00e9 Design"
    assert clean_text(None, "name") is None
    with pytest.raises(InputError):
        clean_text("   ", "name", required=True)
    with pytest.raises(InputError):
        clean_text("x" * 201, "name")


# ---- timestamps and dates ----------------------------------------------------------------------
def test_timestamps_are_stored_fixed_width_and_sortable_at_the_extremes():
    low = ts_input(dt.datetime(1900, 1, 1, tzinfo=dt.UTC), "at")
    high = ts_input(dt.datetime(2999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC), "at")
    assert low == "1900-01-01T00:00:00.000000Z" and high == "2999-12-31T23:59:59.999999Z"
    assert len(low) == len(high) and low < high
    assert iso(dt.datetime(5, 1, 1, tzinfo=dt.UTC)) == "0005-01-01T00:00:00.000000Z"  # padded, whatever strftime does
    assert dt.datetime.fromisoformat(high) == dt.datetime(2999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(5, 1, 1, tzinfo=dt.UTC),
        dt.datetime(1, 1, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),  # overflows when made UTC
        dt.datetime(9999, 12, 31, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=-2))),
        dt.datetime(1899, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
        dt.datetime(3000, 1, 1, tzinfo=dt.UTC),
    ],
)
def test_timestamps_outside_the_range_are_refused(value):
    with pytest.raises(InputError) as e:
        ts_input(value, "occurredAt")
    assert e.value.field == ["input", "occurredAt"] and "1900-01-01" in e.value.message


def test_a_timestamp_needs_a_zone_and_dates_a_range():
    with pytest.raises(InputError):
        ts_input(dt.datetime(2026, 1, 1), "at")
    assert date_input(dt.date(1900, 1, 1), "d") == "1900-01-01"
    for bad in (dt.date(1, 1, 1), dt.date(3000, 1, 1)):
        with pytest.raises(InputError):
            date_input(bad, "startsOn")


# ---- money -------------------------------------------------------------------------------------
def test_money_uses_the_currency_digits():
    assert money.parse_money(Decimal("250000.00"), "eur", "amount") == (25000000, "EUR")
    assert money.parse_money(Decimal("5000"), "JPY", "amount") == (5000, "JPY")
    assert money.parse_money(Decimal("1.234"), "KWD", "amount") == (1234, "KWD")
    assert money.from_minor(1234, "KWD") == Decimal("1.234") and money.label(25000000, "EUR") == "250,000.00 EUR"
    for value, currency in ((Decimal("1.5"), "JPY"), (Decimal("1.001"), "EUR")):
        with pytest.raises(InputError, match="decimal places"):
            money.parse_money(value, currency, "amount")
    for currency in ("ÄÖÜ", "XYZ", "EURO", "", "eu"):
        with pytest.raises(InputError) as e:
            money.parse_money(Decimal(1), currency, "amount")
        assert e.value.field == ["input", "currency"]


# ---- filters and payloads ----------------------------------------------------------------------
def test_filter_helpers():
    assert all_of() == {} and all_of(None, {}) == {} and all_of({"a": 1}, None) == {"a": 1}
    assert all_of({"a": 1}, {"b": 2}) == {"$and": [{"a": 1}, {"b": 2}]}
    assert equal([("a", 1), ("b", None), ("c", "")]) == [{"a": "1"}]
    assert pick({"a": 1, "b": 2}, "a", "c") == {"a": 1, "c": None}


# ---- document measures -------------------------------------------------------------------------
SCHEMA = build_schema("""
type Query { me: Me  companies(first: Int): CompanyConnection  _entities(representations: [String!]!): [Company]! }
type Me { sub: String  company: Company }
type CompanyConnection { edges: [CompanyEdge!]! }
type CompanyEdge { node: Company! }
type Company { name: String  contacts(first: Int): CompanyConnection }
""")


def test_nested_fragments_are_measured_once_each():
    m = measure(SCHEMA, parse(fragment_bomb(13)))
    assert m.fields == 1 + 4**13 and m.depth == 2 and m.aliases == 0  # the expanded size, computed linearly


def test_cycles_and_missing_operations_do_not_hang():
    doc = parse("query { me { ...A } } fragment A on Me { ...B } fragment B on Me { ...A sub }")
    assert measure(SCHEMA, doc).fields >= 1
    assert measure(SCHEMA, parse("query A { me { sub } } query B { me { sub } }")) is None


def test_cost_follows_the_gateway_rule():
    q = "{ companies(first: 100) { edges { node { contacts(first: $n) { edges { node { name } } } } } } }"
    doc = parse("query($n: Int = 10) " + q)
    # companies: 1 × (1 + edges 100 × (1 + node (1 + contacts (1 + edges 10 × (1 + node 1)))))
    assert measure(SCHEMA, doc).cost == 1 * (1 + 100 * (1 + 1 + 1 * (1 + 10 * (1 + 1))))
    assert measure(SCHEMA, doc, variables={"n": 100}).cost > measure(SCHEMA, doc).cost
    reps = {"representations": ["a"] * 7}
    assert measure(
        SCHEMA,
        parse(
            "query($representations: [String!]!) { _entities(representations: $representations) { name contacts { edges { node { name } } } } }"
        ),
        variables=reps,
    ).cost == 7 * (1 + 1 + 20 * (1 + 1))
    aliased = parse("{ a: me { sub } b: me { s: sub } }")
    assert measure(SCHEMA, aliased).aliases == 3


def test_directives_and_duplicate_fields_are_measured():
    m = measure(SCHEMA, parse("{ " + " ".join(["__typename"] * 500) + " me { sub @include(if: true) sub } }"))
    assert m.duplicates == 500 and m.directives == 1
    frag = parse("{ me { ...A ...A ...A } } fragment A on Me { sub @skip(if: false) @include(if: true) }")
    assert measure(SCHEMA, frag).directives == 6  # after expansion
    assert measure(SCHEMA, frag).duplicates == 1  # spreads of one fragment are not copies of a field
