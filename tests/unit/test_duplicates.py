"""Plain rules of duplicates (services/common/duprules.py), merge and search (services/contacts/
duplicates.py, search.py)."""

import pytest

from services.common import duprules as r
from services.common.errors import InputError
from services.common.person_data import ERASED, Blank, blanked
from services.contacts import duplicates as d
from services.contacts import events, privacy, search


def test_fold_ignores_accents_case_and_punctuation():
    assert r.fold("Müller-Lüdenscheidt, Ö.") == "muller ludenscheidt o"
    assert r.fold("  ÅSA   Ström ") == "asa strom"
    assert r.fold(None) == ""


def test_company_name_key_drops_legal_forms():
    assert r.company_name_key("Nordhaven Bau GmbH") == "nordhaven bau"
    assert r.company_name_key("GmbH") == "gmbh"


def test_phone_key_is_e164_through_libphonenumber():
    assert r.phone_key("+49 (30) 1234-5678") == "+493012345678"
    assert r.phone_key("030 12345678", "de") == "+493012345678"
    assert r.phone_key("030 12345678") is None  # no country: cannot be placed
    assert r.phone_key("call me") is None


def test_domain_key_from_mail_or_website_and_not_free_mail():
    assert r.domain_key("https://www.Nordhaven.se/about") == "nordhaven.se"
    assert r.domain_key("Ingrid@nordhaven.se") == "nordhaven.se"
    assert r.domain_key("someone@gmail.com") is None
    assert r.domain_key("localhost") is None
    assert r.domain_key("http://[x.y") is None  # urlsplit refuses it; no crash
    assert r.phone_key("+" * 300) is None


def test_score_same_email_is_near_certain_with_reasons():
    a = r.contact_keys({"first_name": "Ingrid", "last_name": "Berg", "email": "ingrid@nordhaven.se"})
    b = r.contact_keys({"first_name": "Inga", "last_name": "Bergström", "email": "INGRID@nordhaven.se"})
    s, why = r.score(a, b)
    assert s >= 95 and "same e-mail" in why


def test_score_fuzzy_names_and_word_order():
    a = r.contact_keys({"first_name": "José", "last_name": "García"})
    b = r.contact_keys({"first_name": "Garcia", "last_name": "Jose"})
    s, why = r.score(a, b)
    assert s == 70 and why == ["same name"]
    c = r.contact_keys({"first_name": "Jose", "last_name": "Garcya"})
    s2, why2 = r.score(a, c)
    assert r.THRESHOLD <= s2 < 70 and why2[0].startswith("similar name")
    far = r.contact_keys({"first_name": "Anna", "last_name": "Lind"})
    assert r.score(a, far)[0] < r.THRESHOLD


def test_score_company_domain_supports_similar_name():
    a = r.company_keys({"name": "Nordhaven Bau GmbH", "website": "nordhaven.se"})
    b = r.company_keys({"name": "Nordhaven Bau", "website": "https://www.nordhaven.se"})
    s, why = r.score(a, b)
    assert s == 100 and set(why) == {"same name", "same domain"}


def test_ranked_filters_and_orders():
    t = r.contact_keys({"first_name": "Ingrid", "last_name": "Berg", "phone": "+46 8 123 456 78"})
    docs = [
        ({"id": "1", "first_name": "X", "last_name": "Y", "phone": "+46812345678"}, None),
        ({"id": "2", "first_name": "Ingrid", "last_name": "Berg"}, None),
        ({"id": "3", "first_name": "Other", "last_name": "Person"}, None),
    ]
    out = r.ranked(t, [(doc, r.contact_keys(doc)) for doc, _ in docs])
    assert [o[0]["id"] for o in out] == ["1", "2"]


def test_check_merge_counts_2_to_10():
    assert d.check_merge("a", ["b", "b", "a"]) == ["b"]
    with pytest.raises(InputError):
        d.check_merge("a", [])
    with pytest.raises(InputError):
        d.check_merge("a", [str(i) for i in range(10)])


def test_survivor_values_choice_then_own_then_first_non_empty():
    s = {"id": "s", "first_name": "Ingrid", "email": None, "phone": "1"}
    o1 = {"id": "o1", "first_name": "Inga", "email": "a@x.se", "phone": "2"}
    o2 = {"id": "o2", "first_name": "I", "email": "b@x.se", "phone": None}
    fields = ("first_name", "email", "phone")
    assert d.survivor_values(s, [o1, o2], fields) == {"first_name": "Ingrid", "email": "a@x.se", "phone": "1"}
    chosen = d.survivor_values(s, [o1, o2], fields, {"email": "o2", "phone": "o1"})
    assert chosen == {"first_name": "Ingrid", "email": "b@x.se", "phone": "2"}
    with pytest.raises(InputError):
        d.survivor_values(s, [o1], fields, {"email": "nobody"})
    with pytest.raises(InputError):
        d.survivor_values(s, [o1], fields, {"version": "o1"})


def test_search_plan_kinds():
    assert [p.key for p in search.plan("ingrid@nord")] == ["email_key"]
    assert [p.key for p in search.plan("+46 8 123")] == ["phone_key"]
    assert search.plan("+46 8 123")[0].value == "+468123"
    assert {p.key for p in search.plan("nordhaven.se")} == {"domain_key"}
    assert [p.key for p in search.plan("asa str")][2:4] == ["full_search_key", "rfull_search_key"]
    names = search.plan("Ström")
    assert {(p.coll, p.key, p.value) for p in names} >= {
        ("contacts", "last_search_key", "strom"),
        ("companies", "dup_name_key", "strom"),
    }
    with pytest.raises(InputError):
        search.plan("   ")
    with pytest.raises(InputError):
        search.plan("x" * 500)


def test_search_rank_exact_first():
    p = search.plan("berg")[2]
    assert search.rank(p, {p.key: "berg"}) == 100
    assert search.rank(p, {p.key: "bergstrom"}) < search.rank(p, {p.key: "bergs"}) < 100


def test_erased_contact_keeps_ids_and_figures():
    doc = {"id": "c1", "first_name": "Ingrid", "last_name": "Berg", "email": "i@x.se", "phone": "1", "company_id": "k"}
    doc["custom"] = {"hobby": "Sailing in Ingrid's boat", "budget": 5}
    out = privacy.erased_contact(doc)
    assert out["id"] == "c1" and out["company_id"] == "k"
    assert "Ingrid" not in str(out) and "i@x.se" not in str(out) and "Sailing" not in str(out)
    assert out["custom"] == {} and events.contact_snapshot({**out, "version": 2, "lifecycle": "lead"})["custom"] == {}


def test_blanked_replaces_text_and_drops_values():
    spec = Blank("tickets", "contact_id", fields=("subject",), drop=("email",))
    assert blanked({"subject": "Hi", "email": "e", "priority": "high"}, spec) == {
        "subject": ERASED,
        "email": None,
        "priority": "high",
    }
    assert blanked({"subject": ERASED, "email": None}, spec) is None
