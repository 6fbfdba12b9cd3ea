"""The duplicate rules of the clean-data work (docs/data.md), shared by contacts' de-duplication
(services/contacts/duplicates.py) and deals' conflict detection of partners' deal registrations
(services/deals/partners.py): plain functions, no store, no GraphQL; unit-tested in
tests/unit/test_duplicates.py and tests/unit/test_partners.py.

Normalisation: e-mail, phone and domain keys are the import's (`matchkeys.py`, one spelling per
identifier for both); names are folded — Unicode NFKD with the combining marks removed (stdlib
`unicodedata`: accents only, no transliteration library needed), case-folded, punctuation to
spaces, whitespace collapsed; company names without legal-form words (GmbH, Ltd, AB...). Names are
compared with rapidfuzz's token-sort ratio: `SIMILAR_NAME` (85) and up is a similar name. Fuzzy
candidates are found by a blocking key (`block`) stored and indexed beside each record."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz

from . import matchkeys

THRESHOLD = 60  # a pair scoring at least this is a possible duplicate
SIMILAR_NAME = 85  # a name ratio from this on is a similar name (scores ratio - 25, i.e. >= THRESHOLD)
# common free-mail domains say nothing about the company
FREE_MAIL = frozenset(
    {"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "gmx.de"}
)
LEGAL_FORMS = frozenset(
    [
        "gmbh",
        "ag",
        "ab",
        "as",
        "asa",
        "oy",
        "oyj",
        "ltd",
        "limited",
        "llc",
        "inc",
        "corp",
        "co",
        "plc",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "kg",
        "ohg",
        "ug",
        "se",
        "aps",
        "sp",
        "zoo",
    ]
)
_PUNCT = re.compile(r"[^\w]+", re.UNICODE)


# ---- normalisation --------------------------------------------------------------------------------
def fold(text: str | None) -> str:
    """Accent-, case- and punctuation-insensitive form of a name: 'Müller-Lüdenscheidt, Ö.' →
    'muller ludenscheidt o'."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_PUNCT.sub(" ", plain.casefold()).replace("_", " ").split())


def company_name_key(name: str | None) -> str:
    """Folded company name without legal-form words ('Nordhaven Bau GmbH' → 'nordhaven bau')."""
    words = [w for w in fold(name).split() if w not in LEGAL_FORMS]
    return " ".join(words) or fold(name)


def phone_key(phone: str | None, region: str | None = None) -> str | None:
    """E.164 form of a phone number (the import's match key, matchkeys.py)."""
    return matchkeys.phone_key(phone, region)


def email_key(email: str | None) -> str | None:
    return matchkeys.email_key(email)


def domain_key(value: str | None) -> str | None:
    """The domain of an e-mail address or a website (matchkeys.py: 'https://www.Nordhaven.se/x' →
    'nordhaven.se'); free-mail domains are no company's."""
    d = matchkeys.domain_key(value)
    return None if d is None or d in FREE_MAIL else d


def block(name: str) -> str:
    """The blocking key of fuzzy name matching: the first three letters of the longest word (a
    typo in the first letters of every word is missed; e-mail, phone and domain still match)."""
    words = sorted(name.split(), key=lambda w: (-len(w), w))
    return words[0][:3] if words else ""


def blocks(name: str) -> tuple[str, str]:
    """Two blocking keys: the first three letters of the longest and of the second-longest word
    ("" for none). A similar name (ratio >= SIMILAR_NAME) nearly always shares one of them even
    where one letter more changes which word is the longest ("Aurora Studio" → aur, stu; "Aurora
    Studios" → stu, aur). Deals' conflict detection queries both; `block` is the first."""
    words = sorted(set(name.split()), key=lambda w: (-len(w), w))
    return (words[0][:3] if words else "", words[1][:3] if len(words) > 1 else "")


# ---- keys of a record -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Keys:
    name: str
    email: str | None = None
    phone: str | None = None
    domain: str | None = None


def company_keys(doc: dict) -> Keys:
    return Keys(name=company_name_key(doc.get("name")), domain=domain_key(doc.get("website")))


def contact_keys(doc: dict) -> Keys:
    name = fold(f"{doc.get('first_name') or ''} {doc.get('last_name') or ''}")
    mail = email_key(doc.get("email"))
    return Keys(name=name, email=mail, phone=phone_key(doc.get("phone"), doc.get("country")), domain=domain_key(mail))


# ---- scoring ---------------------------------------------------------------------------------------
def name_ratio(a: str | None, b: str | None) -> int:
    """rapidfuzz's token-sort ratio of two folded names (word order does not matter), 0–100."""
    return int(fuzz.token_sort_ratio(a, b)) if a and b else 0


def name_rule(a: str | None, b: str | None) -> tuple[int, str | None]:
    """The name rule: (ratio, "same name" | "similar name (N%)" | None below SIMILAR_NAME)."""
    ratio = name_ratio(a, b)
    if ratio >= 100:
        return ratio, "same name"
    if ratio >= SIMILAR_NAME:
        return ratio, f"similar name ({ratio}%)"
    return ratio, None


def score(a: Keys, b: Keys) -> tuple[int, list[str]]:
    """How likely two records are the same (0–100) and why. Exact e-mail or phone is near-certain,
    a shared domain supports a similar name; names are compared with rapidfuzz's token-sort ratio
    (word order and accents do not matter)."""
    reasons: list[str] = []
    points = 0
    ratio, why = name_rule(a.name, b.name)
    if why:
        reasons.append(why)
        points = max(points, 70 if ratio >= 100 else ratio - 25)
    if a.email and a.email == b.email:
        reasons.append("same e-mail")
        points = max(points, 95)
    if a.phone and a.phone == b.phone:
        reasons.append("same phone")
        points = max(points, 90)
    if a.domain and a.domain == b.domain:
        reasons.append("same domain")
        points = min(100, points + 25) if ratio >= SIMILAR_NAME else max(points, 40)
    if len(reasons) > 1:
        points = min(100, points + 5 * (len(reasons) - 1))
    return points, reasons


def ranked(
    target: Keys, candidates: list[tuple[dict, Keys]], threshold: int = THRESHOLD
) -> list[tuple[dict, int, list]]:
    """The candidates scoring at least `threshold` against `target`, best first."""
    out = []
    for doc, keys in candidates:
        s, why = score(target, keys)
        if s >= threshold:
            out.append((doc, s, why))
    out.sort(key=lambda t: (-t[1], t[0]["id"]))
    return out
