"""Partners as a channel (issue #16, docs/partners.md): the plain rules, no GraphQL import;
unit-tested in tests/unit/test_partners.py.

- **Programme**: a partner company's tier (which decides its price list and its discount limit),
  its agreement (dates, territory) and its portal users; tier changes are kept in a history.
- **Deal registration**: submitted (shown to the partner as "under review") → approved or
  rejected (with a reason) → expired after the protection period unless won.
- **Conflicts**: a registration's end client is matched against the open deals of our own staff
  and the live registrations of other partners by the duplicate rules of the clean-data work
  (services/common/duprules.py, shared with contacts): the same normalised keys (web domain,
  e-mail, phone, registration and VAT number; services/common/matchkeys.py) and the fuzzy
  company-name rule at the duplicates' threshold (`client_keys`, `conflicts`, `MATCHERS`).
- **Territory and agreement**: a client outside the partner's territory (regions, industries) is
  evidence for the review queue (`outside_territory`); a registration outside the agreement's
  dates is refused (`check_agreement_in_force`).
- **Quotas, tier review, reports, bundles**: plain arithmetic over rows the API reads."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from enum import Enum
from typing import Any

from services.common import duprules, matchkeys
from services.common.errors import ErrorCode, InputError

PORTAL_ROLES = ("manager", "sales", "support", "viewer")
DEFAULT_PROTECTION_DAYS = 90


class RegistrationStatus(Enum):
    UNDER_REVIEW = "under_review"  # every submission, with or without a conflict
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    WON = "won"


LIVE = (RegistrationStatus.UNDER_REVIEW.value, RegistrationStatus.APPROVED.value)


class TierStanding(Enum):
    ABOVE = "above"  # meets the thresholds of a higher tier
    WITHIN = "within"
    BELOW = "below"  # misses its own tier's thresholds


# ---- normalisation and matching ---------------------------------------------------------------
# deals' own legal forms and free-mail domains, besides the duplicates' (a superset: a registration
# from Russia or Norway names "ООО …" or "… A/S")
LEGAL_FORMS = {
    "ab", "ag", "as", "asa", "bv", "co", "corp", "corporation", "gmbh", "inc", "kg", "llc", "llp",
    "ltd", "limited", "nv", "oy", "oyj", "plc", "sa", "sarl", "sas", "spa", "sp", "zoo", "ooo", "oao",
    "zao", "pao", "company", "the", "ооо", "оао", "зао", "пао", "ао", "ип",
} | duprules.LEGAL_FORMS  # fmt: skip
FREE_MAIL = {
    "gmail.com", "googlemail.com", "hotmail.com", "outlook.com", "live.com", "yahoo.com", "icloud.com",
    "me.com", "aol.com", "gmx.de", "gmx.net", "web.de", "mail.ru", "yandex.ru", "proton.me", "protonmail.com",
} | duprules.FREE_MAIL  # fmt: skip
KEY_FIELDS = ("name_key", "domain_key", "email_key", "phone_key", "registration_key", "vat_key")


def name_key(name: str | None) -> str | None:
    """Case, accents, punctuation and legal forms ("AS", "GmbH", "Ltd.") removed."""
    if not name:
        return None
    text = unicodedata.normalize("NFKD", name.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("ø", "o").replace("æ", "ae").replace("ß", "ss").replace("ł", "l").replace("đ", "d")
    text = re.sub(r"\b([a-z])/([a-z])\b", r"\1\2", text)  # "A/S" → "as"
    words = [w for w in re.split(r"[^0-9a-z\u0400-\u04ff]+", text) if w and w not in LEGAL_FORMS]
    return " ".join(words) or None


def domain_key(value: str | None) -> str | None:
    """The web domain of a site address or of an e-mail address, without "www." (the shared match
    key, matchkeys.py); free-mail domains (gmail.com, …) say nothing about the client: None."""
    d = matchkeys.domain_key(value)
    return None if d is None or d in FREE_MAIL else d


def email_key(value: str | None) -> str | None:
    return matchkeys.email_key(value)


def client_keys(
    name: str | None,
    website: str | None = None,
    email: str | None = None,
    *,
    phone: str | None = None,
    country: str | None = None,
    registration: str | None = None,
    vat: str | None = None,
) -> dict:
    """The match keys stored with a registration or a known client (each indexed); `block_key` is
    the duplicates' blocking key of the name and `block2_key` the one of its second-longest word:
    the candidate queries of the fuzzy name rule."""
    nk = name_key(name)
    b1, b2 = duprules.blocks(nk or "")
    return {
        "name_key": nk,
        "domain_key": domain_key(website) or domain_key(email),
        "email_key": email_key(email),
        "phone_key": matchkeys.phone_key(phone, country),
        "registration_key": matchkeys.registration_key(registration),
        "vat_key": matchkeys.registration_key(vat),
        "block_key": b1 or None,
        "block2_key": b2 or None,
    }


def keys_filter(keys: Mapping[str, str | None]) -> dict | None:
    """The store filter of records sharing any of `keys` (None when there is nothing to match)."""
    clauses = [{k: v} for k, v in keys.items() if v]
    return {"$or": clauses} if clauses else None


Matcher = Callable[[Mapping, Mapping], tuple[str, str] | None]


def _same(field: str, rule: str) -> Matcher:
    def match(a: Mapping, b: Mapping) -> tuple[str, str] | None:
        return (field.removesuffix("_key"), rule) if a.get(field) and a.get(field) == b.get(field) else None

    return match


def _name(a: Mapping, b: Mapping) -> tuple[str, str] | None:
    """The duplicates' name rule: the same name, or a similar one (token-sort ratio ≥ 85)."""
    if a.get("name_key") and a.get("name_key") == b.get("name_key"):
        return "name", "same name"
    _, why = duprules.name_rule(a.get("name_key"), b.get("name_key"))
    return ("name", why) if why else None


# The duplicate rules of the clean-data work: each gives (what matched, the rule in words) or None.
MATCHERS: list[Matcher] = [
    _name,
    _same("domain_key", "same domain"),
    _same("email_key", "same e-mail"),
    _same("phone_key", "same phone"),
    _same("registration_key", "same registration number"),
    _same("vat_key", "same VAT number"),
]


def matched_on(a: Mapping, b: Mapping) -> tuple[list[str], list[str]]:
    """(the keys that matched, the rules in words: "similar name (92%)", "same domain", …)."""
    hits = [m for m in (rule(a, b) for rule in MATCHERS) if m]
    return [k for k, _ in hits], [r for _, r in hits]


def conflicts(keys: Mapping, staff_clients: Iterable[Mapping], registrations: Iterable[Mapping]) -> list[dict]:
    """The evidence of a conflict: each held client that matches `keys`, with what matched and by
    which rule. `staff_clients`: {company_id, deal_ids, owner, and the keys of `client_keys`};
    `registrations`: other partners' live registrations (candidates that match nothing drop out)."""
    out = []
    for c in staff_clients:
        on, rules = matched_on(keys, c)
        if on:
            out.append(
                {
                    "kind": "staff_deal",
                    "matched_on": on,
                    "rules": rules,
                    "company_id": c.get("company_id"),
                    "deal_ids": list(c.get("deal_ids") or []),
                    "owner": c.get("owner"),
                }
            )
    for r in registrations:
        on, rules = matched_on(keys, r)
        if on:
            out.append(
                {
                    "kind": "partner_registration",
                    "matched_on": on,
                    "rules": rules,
                    "registration_id": r["id"],
                    "partner_id": r["partner_id"],
                    "status": r["status"],
                }
            )
    return out


# ---- territory and agreement ------------------------------------------------------------------
def outside_territory(
    programme: Mapping | None, places: Iterable[str | None], country: str | None, industry: str | None
) -> dict | None:
    """The evidence that a client lies outside a partner's territory, or None. The agreement's
    regions may name countries (ISO codes: "NO") and regions ("Vestland"); `places` is what is
    known of where the client is below the country (the region given on the registration, the
    client's city), `country` its country. A client is inside when any of them is one of the
    territory's entries (case and accents ignored), and outside only when something known of it
    can be compared (a country with a territory naming countries, a place with one naming
    regions) and nothing matches. An empty list of regions or industries is unrestricted, and what
    is not known of the client is not held against the partner (a manager reviews every
    registration anyway)."""
    prog = programme or {}
    regions, industries = list(prog.get("regions") or []), list(prog.get("industries") or [])
    known = [p for p in places if p]
    entries = {duprules.fold(r) for r in regions}
    countries = {e for e in entries if len(e) == 2 and e.isalpha()}
    inside = bool(entries & {duprules.fold(p) for p in [*known, country] if p})
    comparable = bool((countries and country) or (entries - countries and known))
    on, rules = [], []
    if regions and comparable and not inside:
        on.append("region")
        rules.append(
            f"outside territory: {' / '.join([*known, *([country] if country else [])])} not in {', '.join(regions)}"
        )
    if industries and industry and duprules.fold(industry) not in {duprules.fold(i) for i in industries}:
        on.append("industry")
        rules.append(f"outside territory: industry {industry} not in {', '.join(industries)}")
    return {"kind": "outside_territory", "matched_on": on, "rules": rules} if on else None


def check_agreement_in_force(programme: Mapping | None, today: str) -> None:
    """A partner registers only while its agreement is in force (no dates: no limit)."""
    prog = programme or {}
    start, end = prog.get("agreement_start"), prog.get("agreement_end")
    if start and today < start[:10]:
        raise InputError(ErrorCode.INVALID, f"your partner agreement starts on {start[:10]}", ["input"])
    if end and today > end[:10]:
        raise InputError(ErrorCode.INVALID, f"your partner agreement ended on {end[:10]}", ["input"])


# ---- programme --------------------------------------------------------------------------------
def check_agreement(start: str | None, end: str | None) -> None:
    if start and end and end < start:
        raise InputError(ErrorCode.INVALID, "the agreement ends before it starts", ["input", "agreementEnd"])


def check_users(users: Iterable[Mapping[str, Any]]) -> list[dict]:
    out: dict[str, dict] = {}
    for i, u in enumerate(users):
        sub = (u.get("sub") or "").strip()
        role = (u.get("portal_role") or "").strip().lower()
        if not sub:
            raise InputError(ErrorCode.INVALID, "a partner user needs its login (sub)", ["input", "users", str(i)])
        if role not in PORTAL_ROLES:
            raise InputError(
                ErrorCode.INVALID,
                f"portal role must be one of {', '.join(PORTAL_ROLES)}",
                ["input", "users", str(i), "portalRole"],
            )
        if sub in out:
            raise InputError(ErrorCode.INVALID, f"user {sub} is listed twice", ["input", "users", str(i)])
        out[sub] = {"sub": sub, "name": u.get("name"), "portal_role": role, "certified": bool(u.get("certified"))}
    return list(out.values())


def tier_change(old_tier: str | None, new_tier: str | None, by: str, at: str, reason: str | None) -> dict | None:
    if (old_tier or None) == (new_tier or None):
        return None
    return {"from": old_tier, "to": new_tier, "by": by, "at": at, "reason": reason}


def check_discount(discount: Decimal, tier_def: Mapping | None) -> None:
    """A partner's discount may not exceed its tier's limit (0 without a tier)."""
    limit = Decimal(str((tier_def or {}).get("max_discount_pct") or "0"))
    if discount > limit:
        raise InputError(
            ErrorCode.INVALID, f"the discount exceeds your tier's limit of {limit} %", ["input", "discountPercent"]
        )


# ---- registrations ----------------------------------------------------------------------------
def decide(doc: dict, approve: bool, reason: str | None, now: str, protection_days: int) -> dict:
    if doc["status"] != RegistrationStatus.UNDER_REVIEW.value:
        raise InputError(ErrorCode.INVALID, f"the registration is {doc['status']}", ["input", "id"])
    if not approve and not reason:
        raise InputError(ErrorCode.INVALID, "a rejection needs a reason", ["input", "reason"])
    if approve:
        until = dt.datetime.fromisoformat(now) + dt.timedelta(days=protection_days)
        return {
            **doc,
            "status": RegistrationStatus.APPROVED.value,
            "decided_at": now,
            "expires_at": iso(until),
            "reason": reason,
        }
    return {**doc, "status": RegistrationStatus.REJECTED.value, "decided_at": now, "reason": reason}


def iso(t: dt.datetime) -> str:
    from services.common.ids import iso as _iso

    return _iso(t.astimezone(dt.UTC))


def expiry_due(now: str) -> dict:
    return {"$and": [{"status": RegistrationStatus.APPROVED.value}, {"expires_at": {"$lte": now}}]}


def expire(doc: dict, now: str) -> dict | None:
    """An approved registration past its protection period expires, unless it was won meanwhile."""
    if doc.get("status") != RegistrationStatus.APPROVED.value or (doc.get("expires_at") or "9") > now:
        return None
    return {"status": RegistrationStatus.EXPIRED.value, "expired_at": now}


def win(doc: dict, deal_id: str, now: str) -> dict | None:
    if doc.get("status") != RegistrationStatus.APPROVED.value:
        return None
    return {**doc, "status": RegistrationStatus.WON.value, "won_deal_id": deal_id, "won_at": now}


# ---- periods, quotas, tier review -------------------------------------------------------------
def months_of(period: str) -> list[str]:
    """ "2026" (a year), "2026-Q2" or "2026-05" → its months ("2026-04", …)."""
    p = (period or "").strip()
    if re.fullmatch(r"\d{4}", p):
        return [f"{p}-{m:02d}" for m in range(1, 13)]
    m = re.fullmatch(r"(\d{4})-Q([1-4])", p)
    if m:
        q = int(m.group(2))
        return [f"{m.group(1)}-{i:02d}" for i in range(3 * q - 2, 3 * q + 1)]
    if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", p):
        return [p]
    raise InputError(ErrorCode.INVALID, 'a period is "2026", "2026-Q2" or "2026-05"', ["input", "period"])


def percent_of(done: int, target: int | None) -> Decimal | None:
    if not target:
        return None
    return (Decimal(done) * 100 / Decimal(target)).quantize(Decimal("0.1"))


def progress(target: Mapping, won_minor: int, won_deals: int, accepted_minor: int, certified: int) -> dict:
    """Progress against a target: revenue counts won deals; accepted estimates of deals still open
    count as committed revenue beside it."""
    return {
        "won_minor": won_minor,
        "won_deals": won_deals,
        "accepted_minor": accepted_minor,
        "certified": certified,
        "revenue_pct": percent_of(won_minor, target.get("revenue_minor")),
        "deals_pct": percent_of(won_deals, target.get("deals")),
        "certified_pct": percent_of(certified, target.get("certified_staff")),
    }


def meets(tier_def: Mapping, revenue_minor: int, deals: int, certified: int) -> bool:
    return (
        revenue_minor >= int(tier_def.get("min_revenue_minor") or 0)
        and deals >= int(tier_def.get("min_deals") or 0)
        and certified >= int(tier_def.get("min_certified") or 0)
    )


def tier_standing(tier: str | None, tier_defs: list[Mapping], revenue_minor: int, deals: int, certified: int) -> tuple:
    """(standing, the tier its figures qualify for): ABOVE when they meet a higher-ranked tier,
    BELOW when they miss the thresholds of its own."""
    ranked = sorted(tier_defs, key=lambda t: int(t.get("rank") or 0))
    qualifies = None
    for t in ranked:
        if meets(t, revenue_minor, deals, certified):
            qualifies = t
    own = next((t for t in ranked if t["id"] == tier), None)
    q_rank = int(qualifies.get("rank") or 0) if qualifies else -1
    own_rank = int(own.get("rank") or 0) if own else -1
    if own is not None and not meets(own, revenue_minor, deals, certified):
        standing = TierStanding.BELOW
    elif q_rank > own_rank:
        standing = TierStanding.ABOVE
    else:
        standing = TierStanding.WITHIN
    return standing, (qualifies["id"] if qualifies else None)


# ---- reports ----------------------------------------------------------------------------------
def win_rate(won: int, lost: int) -> Decimal | None:
    return None if won + lost == 0 else (Decimal(won) * 100 / Decimal(won + lost)).quantize(Decimal("0.1"))


def report(deals: Iterable[Mapping], registrations: Iterable[Mapping], months: list[str]) -> dict:
    """A partner's figures: open pipeline, win rate and revenue by month (deals won in `months`),
    registrations by status (all of them)."""
    open_n = open_minor = won = lost = 0
    by_month: dict[str, int] = {m: 0 for m in months}
    currency = None
    for d in deals:
        currency = currency or d.get("currency")
        if d.get("status") == "open":
            open_n += 1
            open_minor += int(d.get("amount_minor") or 0)
        elif d.get("status") == "won" and d.get("won_month") in by_month:
            won += 1
            by_month[d["won_month"]] += int(d.get("amount_minor") or 0)
        elif d.get("status") == "lost" and (d.get("closed_at") or "")[:7] in by_month:
            lost += 1
    regs: dict[str, int] = {}
    for r in registrations:
        regs[r["status"]] = regs.get(r["status"], 0) + 1
    return {
        "open_deals": open_n,
        "open_minor": open_minor,
        "won_deals": won,
        "lost_deals": lost,
        "win_rate": win_rate(won, lost),
        "revenue_by_month": by_month,
        "registrations": regs,
        "currency": currency,
    }


def to_csv(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    """RFC 4180 CSV (the standard library's writer); cells that a spreadsheet would run as a
    formula (=, +, -, @ first) are prefixed with a quote."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(header)
    for row in rows:
        w.writerow([_cell(v) for v in row])
    return out.getvalue()


def _cell(v: Any) -> str:
    s = "" if v is None else str(v)
    return "'" + s if s[:1] in ("=", "+", "-", "@") and not re.fullmatch(r"-?\d+(\.\d+)?", s) else s


# ---- bundles ----------------------------------------------------------------------------------
def check_bundle(items: list[Mapping], work: list[Mapping]) -> None:
    if not items and not work:
        raise InputError(ErrorCode.INVALID, "a bundle needs catalogue items or work lines", ["input", "items"])
