"""Match keys (services/common/matchkeys.py) and the plain import rules (services/contacts/imports.py)."""

from __future__ import annotations

import pytest

from services.common import matchkeys
from services.common.errors import InputError
from services.contacts import imports


def test_email_key_case_folds_and_trims():
    assert matchkeys.email_key("  Anna.B@Example.COM ") == "anna.b@example.com"
    assert matchkeys.email_key("") is None
    assert matchkeys.email_key("no-at-sign") is None


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+49 30 1234567", None, "+49301234567"),
        ("030 1234567", "DE", "+49301234567"),
        ("(030) 123-4567", "de", "+49301234567"),
        ("+44 20 7946 0958", "FR", "+442079460958"),
        ("0044 20 7946 0958", "DE", "+442079460958"),
        ("+1 (202) 555-0143 ext. 12", None, "+12025550143"),
    ],
)
def test_phone_key_is_e164(raw, region, e164):
    assert matchkeys.phone_key(raw, region) == e164


@pytest.mark.parametrize("raw", ["12", "030 1234567", "call me", "", "+49 1"])
def test_phone_key_refuses_what_is_not_a_number_without_a_country(raw):
    assert matchkeys.phone_key(raw) is None


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("https://WWW.Example.com/about", "example.com"),
        ("example.com.", "example.com"),
        ("anna@Example.co.uk", "example.co.uk"),
        ("xn--mnchen-3ya.de", "münchen.de"),
        ("www.acme-bau.de", "acme-bau.de"),
    ],
)
def test_domain_key(raw, key):
    assert matchkeys.domain_key(raw) == key


def test_domain_key_refuses_non_domains_and_free_mail_is_no_company():
    assert matchkeys.domain_key("localhost") is None
    assert matchkeys.domain_key("not a domain") is None
    assert matchkeys.company_domain_of_email("x@gmail.com") is None
    assert matchkeys.company_domain_of_email("x@acme.de") == "acme.de"


def test_registration_and_external_keys():
    assert matchkeys.registration_key("de 123.456-789") == "DE123456789"
    assert matchkeys.registration_key("HRB 12345 / B") == "HRB12345B"
    assert matchkeys.external_key("  SF-001a ") == "SF-001a"
    assert matchkeys.name_key("  Acme   BAU ") == "acme bau"


CONTACT_COLUMNS = [
    ("First", "first_name"),
    ("Last", "last_name"),
    ("Mail", "email"),
    ("Tel", "phone"),
    ("Firm", "company_name"),
]


def _mapping(entity="contact", columns=CONTACT_COLUMNS, match_on=None):
    doc = imports.check_mapping(entity, columns, match_on, None)
    return imports.Mapping.from_doc(doc)


def test_check_mapping_refuses_unknown_fields_doubles_and_missing_name():
    with pytest.raises(InputError, match="unknown contact field"):
        imports.check_mapping("contact", [("A", "last_name"), ("B", "shoe_size")], None, None)
    with pytest.raises(InputError, match="mapped twice"):
        imports.check_mapping("contact", [("A", "last_name"), ("B", "last_name")], None, None)
    with pytest.raises(InputError, match="map a column to name"):
        imports.check_mapping("company", [("A", "city")], None, None)
    with pytest.raises(InputError, match="match on"):
        imports.check_mapping("contact", [("A", "last_name")], ["domain"], None)
    with pytest.raises(InputError, match="no custom field"):
        imports.check_mapping("contact", [("A", "last_name"), ("B", "custom.size")], None, None)
    ok = imports.check_mapping("contact", [("A", "last_name"), ("B", "custom.size")], None, None, {"size"})
    assert ok["match_on"] == ["external_id", "email"]


def test_read_csv_lines_quotes_semicolons_and_blank_rows():
    text = 'Last;Mail\n"Doe, J";j@x.de\n\n"Multi\nline";m@x.de\nSmith;s@x.de\n'
    header, rows = imports.read_csv(text)
    assert header == ["Last", "Mail"]
    assert list(rows) == [(2, ["Doe, J", "j@x.de"]), (4, ["Multi\nline", "m@x.de"]), (6, ["Smith", "s@x.de"])]


def test_read_csv_refuses_duplicate_or_empty_headers():
    with pytest.raises(InputError):
        imports.read_csv("a,a\n1,2\n")
    with pytest.raises(InputError):
        imports.read_csv("")


def test_row_fields_normalises_keys_and_names_the_bad_column():
    m = _mapping()
    header = ["First", "Last", "Mail", "Tel", "Firm"]
    r = imports.row_fields(m, header, 2, ["Anna", "Berg", "Anna@Acme.DE", "+49 30 1234567", "Acme"])
    assert r.fields["email_key"] == "anna@acme.de" and r.fields["phone_key"] == "+49301234567"
    assert r.keys == {"email": "anna@acme.de"}  # only the mapping's match keys
    assert r.company == {"name": "Acme"}
    with pytest.raises(InputError) as bad:
        imports.row_fields(m, header, 3, ["Anna", "Berg", "not-an-address", "", ""])
    assert bad.value.field == ["Mail"]
    with pytest.raises(InputError) as bad:
        imports.row_fields(m, header, 3, ["Anna", "Berg", "", "12", ""])
    assert bad.value.field == ["Tel"]


def test_empty_cells_change_nothing_and_ids_are_deterministic():
    m = _mapping()
    header = ["First", "Last", "Mail", "Tel", "Firm"]
    r = imports.row_fields(m, header, 2, ["", "Berg", "", "", ""])
    assert imports.changes({"first_name": "Anna", "last_name": "Berg", "last_name_key": "berg"}, r.fields) == {}
    assert imports.record_id("J1", 7) == imports.record_id("J1", 7) != imports.record_id("J1", 8)
    assert imports.company_id_for("J1", "acme") == imports.company_id_for("J1", "acme")


def test_company_rows_keys():
    m = _mapping("company", [("Name", "name"), ("Web", "website"), ("VAT", "vat_number")], ["vat", "domain", "name"])
    r = imports.row_fields(m, ["Name", "Web", "VAT"], 2, ["Acme  Bau", "https://www.acme.de", "DE 123 456 789"])
    assert r.keys == {"vat": "DE123456789", "domain": "acme.de", "name": "acme bau"}
