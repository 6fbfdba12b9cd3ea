"""Marketing's replicas, fed by events (docs/marketing.md): the contact **profile** segments are
evaluated over (`ref_contacts`) and the company replica (`ref_companies`) whose fields each
profile carries (kind, industry, city, country, value tier).

- `contacts.contact.created|updated`: the person (name, e-mail, company, lifecycle, owner, custom-field
  values in their comparison form, segments.profile_custom), newest version wins; the company's
  fields are copied from `ref_companies`. An event without `custom` (published before contacts
  carried it) leaves the profile's values as they are.
- `contacts.customfield.created|updated`: the definitions (`ref_custom_fields`), which a segment's
  CUSTOM_FIELD condition is checked against when it is saved.
- `contacts.company.created|updated`: the company replica, then its fields are copied onto every
  profile of the company (so "tier A" or "clients" segments change at once).
- activity (`deals.deal.*`, `marketing.member.responded`, `marketing.call.logged`,
  `support.ticket.*`, `contacts.activity.*`, `contacts.interaction.*`): `last_activity_at` = the
  newest event time about the contact; deal events also keep the contact's deal statuses
  (`deals` map and the `deal_open|won|lost` flags segments use); responses keep
  `responded_campaigns`."""

from __future__ import annotations

from services.common.envelope import Envelope
from services.common.errors import AlreadyApplied, NotFoundError
from services.common.store import Store

from .segments import key, profile_custom

CUSTOM_FIELD_DEFS = "ref_custom_fields"  # contacts' custom-field definitions (a replica, cf.DEFINITION_FIELDS)
CONTACT_FIELDS = ("name", "email", "company_id", "lifecycle", "owner", "partner_id")
COMPANY_FIELDS = ("name", "kind", "country", "tier", "industry", "city", "partner_id")
ACTIVITY_PATTERNS = [
    "deals.deal.*",
    "marketing.member.responded",
    "marketing.call.logged",
    "support.ticket.*",
    "contacts.activity.*",
    "contacts.interaction.*",
]


def company_fields(company: dict | None) -> dict:
    """What a profile carries of its company (all None without one)."""
    c = company or {}
    return {
        "company_kind": (c.get("kind") or None) and str(c["kind"]).lower(),
        "industry": c.get("industry"),
        "industry_key": key(c.get("industry")),
        "city": c.get("city"),
        "city_key": key(c.get("city")),
        "country": (c.get("country") or None) and str(c["country"]).upper(),
        "tier": (c.get("tier") or None) and str(c["tier"]).upper(),
    }


def contact_fields(snap: dict) -> dict:
    out = {k: snap.get(k) for k in CONTACT_FIELDS}
    out["lifecycle"] = (out["lifecycle"] or None) and str(out["lifecycle"]).lower()
    out["email"] = (out["email"] or None) and str(out["email"]).strip().lower()
    if "custom" in snap:
        out["custom"] = profile_custom(snap.get("custom"))
    return out


def deal_flags(deals: dict[str, str]) -> dict:
    statuses = set(deals.values())
    return {f"deal_{s}": s in statuses for s in ("open", "won", "lost")}


def with_activity(doc: dict, at: str) -> dict:
    last = doc.get("last_activity_at")
    return {**doc, "last_activity_at": at if not last or at > last else last}


async def on_contact(store: Store, e: Envelope) -> None:
    snap = e.data
    version = int(snap.get("version", 0))
    company = await store.get("ref_companies", snap["company_id"]) if snap.get("company_id") else None

    def fn(current: dict | None) -> dict | None:
        if current and current.get("source_version", 0) >= version:
            return None  # stale or duplicate
        base = current or {"last_activity_at": None, "deals": {}, **deal_flags({}), "responded_campaigns": []}
        return {**base, **contact_fields(snap), **company_fields(company), "source_version": version}

    try:
        await store.mutate("ref_contacts", str(snap["id"]), fn, create=True, event_id=e.id)
    except AlreadyApplied:
        pass


async def on_company(store: Store, e: Envelope) -> None:
    snap = e.data
    version = int(snap.get("version", 0))

    def fn(current: dict | None) -> dict | None:
        if current and current.get("source_version", 0) >= version:
            return None
        return {**{k: snap.get(k) for k in COMPANY_FIELDS}, "source_version": version}

    try:
        await store.mutate("ref_companies", str(snap["id"]), fn, create=True, event_id=e.id)
    except AlreadyApplied:
        return
    company = await store.get("ref_companies", str(snap["id"]))
    fields = company_fields(company)
    for person in await store.find_all("ref_contacts", {"company_id": str(snap["id"])}):
        if all(person.get(k) == v for k, v in fields.items()):
            continue
        try:
            await store.mutate("ref_contacts", person["id"], lambda d: {**d, **fields})
        except NotFoundError:
            pass


async def on_activity(store: Store, e: Envelope) -> None:
    d = e.data
    contact_id = d.get("contact_id")
    if e.type.startswith("contacts."):
        contact_id = contact_id or None
    if not contact_id:
        return
    at = d.get("occurred_at") or d.get("responded_at") or e.occurred_at

    def fn(doc: dict) -> dict | None:
        new = with_activity(doc, at)
        if e.type.startswith("deals.deal.") and d.get("status") and (d.get("id") or e.subject):
            deals = {**(doc.get("deals") or {}), str(d.get("id") or e.subject): str(d["status"]).lower()}
            new = {**new, "deals": deals, **deal_flags(deals)}
        if e.type == "marketing.member.responded" and d.get("campaign_id"):
            responded = list(dict.fromkeys([*(doc.get("responded_campaigns") or []), d["campaign_id"]]))
            new = {**new, "responded_campaigns": responded}
        return None if new == doc else new

    try:
        await store.mutate("ref_contacts", str(contact_id), fn, event_id=e.id)
    except (NotFoundError, AlreadyApplied):
        pass  # a contact marketing does not know (yet), or a redelivery
