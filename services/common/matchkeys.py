"""Normalised match keys of companies and contacts (plain functions, no store, no GraphQL), shared
by contacts (imports, de-duplication) and deals (conflicts of partners' deal registrations).

One spelling per real-world identifier, so that "Anna@Example.COM" and "anna@example.com", or
"+49 30 1234567" and "030 1234567" (in Germany), are the same key. They are stored beside the record
as indexed fields (`email_key`, `phone_key`, `domain_key`, `registration_key`, `vat_key`,
`external_key`) and used by the import's matching upserts (services/contacts/imports.py), the
de-duplication (duprules.py) and deals' conflict detection (services/deals/partners.py).
Each function returns None for a value that gives no usable key.

Phone numbers go through Google's libphonenumber (the `phonenumbers` port), not regular
expressions: national formats, trunk prefixes and extensions are per country."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

import phonenumbers

KEY_FIELDS = {
    "email": "email_key",
    "phone": "phone_key",
    "domain": "domain_key",
    "registration": "registration_key",
    "vat": "vat_key",
    "external_id": "external_key",
    "name": "name_key",
}
_FREEMAIL = frozenset({"gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "gmx.de", "web.de"})
_ID_JUNK = re.compile(r"[\s.\-/]+")


def email_key(value: str | None) -> str | None:
    """The e-mail address trimmed and case-folded (the whole address: providers treat the local
    part case-insensitively in practice, and every CRM user expects it)."""
    if not value:
        return None
    v = value.strip().casefold()
    return v if "@" in v and not v.startswith("@") and not v.endswith("@") else None


def phone_key(value: str | None, region: str | None = None) -> str | None:
    """E.164 (`+493012345678`) of a valid number, or None. A number without a country code is read
    in `region` (ISO 3166 alpha-2, e.g. the record's country); extensions are dropped."""
    if not value or not value.strip():
        return None
    reg = (region or "").strip().upper() or None
    if reg is not None and len(reg) != 2:
        reg = None
    try:
        number = phonenumbers.parse(value, reg)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def domain_key(value: str | None) -> str | None:
    """The host of a web site or of an e-mail address, lower-case, IDNA-decoded to Unicode, without
    `www.` and a trailing dot: "https://WWW.Example.com/x" → "example.com"."""
    if not value or not value.strip():
        return None
    v = value.strip()
    if "@" in v and "/" not in v:
        v = v.rsplit("@", 1)[1]
    if "//" not in v:
        v = "//" + v
    try:
        host = urlsplit(v).hostname or ""
    except ValueError:
        return None
    host = host.strip(".").casefold()
    if host.startswith("www."):
        host = host[4:]
    try:
        host = host.encode("ascii").decode("idna") if host.isascii() else host
    except UnicodeError:
        pass
    return host if "." in host and " " not in host else None


def company_domain_of_email(email: str | None) -> str | None:
    """The company domain an e-mail address suggests, or None for a free-mail provider."""
    d = domain_key(email) if email and "@" in email else None
    return None if d is None or d in _FREEMAIL else d


def registration_key(value: str | None) -> str | None:
    """A registration or VAT number without spaces, dots, dashes and slashes, upper-case:
    "de 123.456.789" → "DE123456789"."""
    if not value:
        return None
    v = _ID_JUNK.sub("", unicodedata.normalize("NFKC", value)).upper()
    return v or None


def external_key(value: str | None) -> str | None:
    """An id in another system, trimmed (kept case-sensitive: other systems' ids may be)."""
    if value is None:
        return None
    v = value.strip()
    return v or None


def name_key(value: str | None) -> str | None:
    """A name with white space folded and case-folded (the `name_key` companies already carry)."""
    if not value:
        return None
    v = " ".join(unicodedata.normalize("NFC", value).split()).casefold()
    return v or None
