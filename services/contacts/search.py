"""Search across companies and contacts (docs/data.md): by name (prefix, accent- and
case-insensitive), e-mail, phone and domain, best matches first, within the caller's row scope.

Every record stores its normalised keys (duplicates.stored_keys: `first_search_key`, `last_search_key`,
`dup_name_key`, `name_search_key`, `email_key`, `phone_key`, `domain_key`), each with an index. A query
becomes a few range scans (`{key: {"$gte": p, "$lt": p + U+10FFFF}}`), each limited, each
narrowed to the row scope; the hits are scored here and merged. The same plan runs on SQLite (an
index on each key expression) and on MongoDB (a B-tree index per key); on FerretDB 1.24 the same
filters are not pushed down to its SQLite backend (only `{_id: x}` is) and are scanned, see
docs/data.md for the measured figures."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.common.duprules import domain_key, fold, phone_key
from services.common.errors import ErrorCode, InputError

if TYPE_CHECKING:
    from services.common.context import Context

TOP = "\U0010ffff"
MAX_QUERY = 200
MAX_HITS = 50
_PHONE = re.compile(r"^\+?[\d\s().\-/]{5,}$")


@dataclass(frozen=True)
class Probe:
    coll: str  # companies | contacts
    filter: dict
    why: str
    key: str  # the stored key compared to `value`, for the score
    value: str
    exact: bool = False


def prefix(field: str, value: str) -> dict:
    return {field: {"$gte": value, "$lt": value + TOP}}


def plan(text: str) -> list[Probe]:
    """The index probes of a query (plain rule, unit-tested)."""
    q = (text or "").strip()
    if len(q) > MAX_QUERY:
        raise InputError(ErrorCode.INVALID, f"a search is at most {MAX_QUERY} characters", ["text"])
    if not q:
        raise InputError(ErrorCode.INVALID, "search for something", ["text"])
    if "@" in q:
        mail = q.casefold()
        probes = [Probe("contacts", prefix("email_key", mail), "e-mail", "email_key", mail)]
        dom = domain_key(mail) if "." in mail.rsplit("@", 1)[1] else None
        if dom:
            probes += [Probe(c, {"domain_key": dom}, "domain", "domain_key", dom, True) for c in ("companies",)]
        return probes
    if _PHONE.match(q) and sum(ch.isdigit() for ch in q) >= 5:
        digits = "".join(ch for ch in q if ch.isdigit())
        e164 = phone_key(q) or ("+" + digits[2:] if digits.startswith("00") else "+" + digits)
        return [Probe("contacts", prefix("phone_key", e164), "phone", "phone_key", e164)]
    if "." in q and " " not in q:
        dom = domain_key(q) or q.casefold()
        return [
            Probe("companies", prefix("domain_key", dom), "domain", "domain_key", dom),
            Probe("contacts", prefix("domain_key", dom), "domain", "domain_key", dom),
        ]
    words = fold(q).split()
    if not words:
        raise InputError(ErrorCode.INVALID, "search for a name, an e-mail, a phone or a domain", ["text"])
    whole = " ".join(words)
    probes = [
        Probe("companies", prefix("dup_name_key", whole), "name", "dup_name_key", whole),
        Probe("companies", prefix("name_search_key", whole), "name", "name_search_key", whole),
    ]
    if len(words) == 1:
        w = words[0]
        probes += [
            Probe("contacts", prefix("last_search_key", w), "last name", "last_search_key", w),
            Probe("contacts", prefix("first_search_key", w), "first name", "first_search_key", w),
        ]
    else:
        probes += [
            Probe("contacts", prefix("full_search_key", whole), "name", "full_search_key", whole),
            Probe("contacts", prefix("rfull_search_key", whole), "name", "rfull_search_key", whole),
            Probe("contacts", prefix("last_search_key", whole), "last name", "last_search_key", whole),
        ]
    return probes


def rank(probe: Probe, doc: dict) -> int:
    """0–100: an exact key first, then the shorter the rest of the key, the better."""
    stored = str(doc.get(probe.key) or "")
    if stored == probe.value or probe.exact:
        return 100
    base = {"e-mail": 90, "phone": 90, "domain": 80}.get(probe.why, 85)
    return max(1, base - min(40, len(stored) - len(probe.value)))


async def search(c: Context, text: str, first: int | None) -> list[tuple[str, dict, int, str]]:
    """[(collection, document, score, why)], best first, each record once."""
    size = MAX_HITS if first is None else first
    if size < 1 or size > MAX_HITS:
        raise InputError(ErrorCode.INVALID, f"first must be between 1 and {MAX_HITS}", ["first"])
    best: dict[tuple[str, str], tuple[str, dict, int, str]] = {}
    for probe in plan(text):
        field = next(iter(probe.filter))
        page = await c.store.find(probe.coll, c.scoped(probe.coll, probe.filter), sort=[(field, 1)], first=size)
        for doc in page.items:
            s = rank(probe, doc)
            k = (probe.coll, doc["id"])
            if k not in best or best[k][2] < s:
                best[k] = (probe.coll, doc, s, probe.why)
    hits = sorted(best.values(), key=lambda h: (-h[2], h[1].get("dup_name_key") or "", h[1]["id"]))
    return hits[:size]
