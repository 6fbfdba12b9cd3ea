"""The generic custom-field mechanism (services/common/customfields.py)."""

from __future__ import annotations

import pytest

from services.common import customfields as cf
from services.common.errors import InputError
from services.common.store.documents import check_field


def d(kind, **kw):
    opts = kw.pop("options", None)
    if kind in cf.SELECTS and opts is None:
        opts = [("red", "Red"), ("green", None), ("blue", "Blue")]
    return cf.check_definition(key=kw.pop("key", "f"), entity="company", label="F", kind=kind, options=opts, **kw)


def test_definitions_are_checked():
    with pytest.raises(InputError):
        d("text", key="Bad Key")
    with pytest.raises(InputError):
        d("colour")
    with pytest.raises(InputError):
        d("select", options=[])
    with pytest.raises(InputError):
        d("select", options=[("a", None), ("A", None)])
    with pytest.raises(InputError):
        d("text", options=[("a", None)])
    with pytest.raises(InputError):
        d("money")
    with pytest.raises(InputError):
        d("number", default="many")
    assert d("money", currency="eur")["currency"] == "EUR"
    assert d("select", default="RED")["default"] == "red"


@pytest.mark.parametrize(
    ("kind", "raw", "stored", "text"),
    [
        ("text", "  a   b ", "a b", "a b"),
        ("number", "12,5", 12.5, "12.5"),
        ("number", "42", 42, "42"),
        ("date", "2026-05-01", "2026-05-01", "2026-05-01"),
        ("boolean", "Yes", True, "true"),
        ("boolean", "no", False, "false"),
        ("select", "GREEN", "green", "green"),
        ("multiselect", "blue; red", {cf.option_key("blue"): "blue", cf.option_key("red"): "red"}, "red;blue"),
    ],
)
def test_values_parse_to_typed_stored_values(kind, raw, stored, text):
    defn = d(kind)
    assert cf.parse(defn, raw) == stored
    assert cf.text_of(defn, stored) == text


def test_money_is_minor_units_of_the_definitions_currency():
    defn = d("money", currency="EUR")
    assert cf.parse(defn, "1234.5") == 123450
    assert cf.text_of(defn, 123450) == "1234.50"
    with pytest.raises(InputError):
        cf.parse(defn, "1.234")


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        ("number", "x"),
        ("date", "31.12.2026"),
        ("boolean", "maybe"),
        ("select", "pink"),
        ("multiselect", "red;pink"),
        ("number", "NaN"),
    ],
)
def test_bad_values_are_refused(kind, raw):
    with pytest.raises(InputError):
        cf.parse(d(kind), raw)


def test_apply_required_default_unknown_and_retired():
    size = d("number", key="size", required=True)
    colour = d("select", key="colour", default="red")
    old = {**d("text", key="old"), "active": False}
    defs = [size, colour, old]
    with pytest.raises(InputError, match="required"):
        cf.apply(defs, None, {}, creating=True)
    got = cf.apply(defs, None, {"size": "3"}, creating=True)
    assert got == {"size": 3, "colour": "red"}
    with pytest.raises(InputError, match="required"):
        cf.apply(defs, got, {"size": ""}, creating=False)
    with pytest.raises(InputError, match="no custom field"):
        cf.apply(defs, got, {"old": "x"}, creating=False)
    with pytest.raises(InputError, match="no custom field"):
        cf.apply(defs, got, {"nope": "x"}, creating=False)
    kept = cf.apply(defs, {**got, "old": "kept"}, {"colour": "blue"}, creating=False)
    assert kept == {"size": 3, "colour": "blue", "old": "kept"}  # a retired field's value stays stored


def test_a_removed_option_keeps_stored_values_and_refuses_new_ones():
    colour = d("select", key="colour", default="blue")
    retired = cf.retire_option(colour, "Blue")
    assert retired["default"] is None
    assert [o["retired"] for o in retired["options"]] == [False, False, True]
    with pytest.raises(InputError):
        cf.parse(retired, "blue")
    shown = cf.view([retired], {"colour": "blue"})[0]
    assert shown["value"] == "blue" and shown["options"] == [{"value": "blue", "label": "Blue", "retired": True}]
    assert cf.filter_clause(retired, eq="blue") == {"custom.colour": "blue"}  # still filterable
    with pytest.raises(InputError):
        cf.retire_option(cf.retire_option(retired, "red"), "green")


def test_view_shows_defaults_and_hides_retired_definitions():
    defs = [d("boolean", key="vip", default="no"), {**d("text", key="gone"), "active": False}]
    v = cf.view(defs, {"gone": "x"})
    assert [x["key"] for x in v] == ["vip"] and v[0]["boolean"] is False and v[0]["is_default"]


def test_filters_and_sorts():
    n = d("number", key="size")
    assert cf.filter_clause(n, gte="2", lte="10") == {
        "$and": [{"custom.size": {"$gte": 2}}, {"custom.size": {"$lte": 10}}]
    }
    assert cf.filter_clause(n, is_set=False) == {"custom.size": {"$exists": False}}
    m = d("multiselect", key="tags")
    assert cf.filter_clause(m, any_of=["red", "blue"]) == {
        "$or": [{f"custom.tags.{cf.option_key(o)}": {"$exists": True}} for o in ("red", "blue")]
    }
    assert cf.sort_spec(n, descending=True) == [("custom.size", -1)]
    with pytest.raises(InputError):
        cf.sort_spec(m)
    with pytest.raises(InputError):
        cf.filter_clause(d("boolean"), gte="true")


@pytest.mark.parametrize("option", ["Gold Plus", "v1.2", "$where", "1st", "a.b.c", "Ünïcode ok", " x "])
def test_any_option_text_is_stored_and_filtered_under_a_safe_field_name(option):
    """Option values are free text; the stored map's keys are valid store field names (no space,
    dot or leading "$"), and the filter path is accepted by the store's field check."""
    m = {**d("multiselect", key="tags"), "options": cf.check_options([(option, None), ("other", None)])}
    canonical = " ".join(option.split())
    stored = cf.parse(m, [option])
    assert list(stored.values()) == [canonical] and cf.text_of(m, stored) == canonical
    assert all(check_field(f"custom.tags.{k}") for k in stored)
    clause = cf.filter_clause(m, any_of=[option.upper()])
    assert clause == {f"custom.tags.{cf.option_key(canonical)}": {"$exists": True}}
    assert check_field(next(iter(clause)))
