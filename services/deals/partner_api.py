"""Root fields of partners as a channel (docs/partners.md): the programme (tiers, agreements,
portal users), deal registration with conflict detection and the staff-only review queue,
targets and the tier review, partner reports with the chain to the end client and CSV exports,
and standard configurations (bundles) priced at a partner's tier. `PartnerQuery` and
`PartnerMutation` are mixed into deals' Query and Mutation; the rules are in partners.py."""

from __future__ import annotations

import decimal

import strawberry
from strawberry.types import Info

from services.common.authz import ADMIN, PARTNER, SALES, STAFF, allow
from services.common.envelope import Envelope
from services.common.errors import ErrorCode, InputError, PublicError
from services.common.graphql import Connection, payload_errors
from services.common.ids import new_id, now_iso
from services.common.money import parse_currency, parse_money
from services.common.service import Service, Subscription
from services.common.values import all_of, clean_text, date_input
from services.common.values import email as clean_email

from . import domain
from . import estimates as E
from . import partners as R
from .partner_types import (
    PARTNER_MANAGERS,
    PROGRAMME_READERS,
    BoughtItem,
    Bundle,
    BundlePayload,
    ChainRow,
    DealRegistration,
    DealRegistrationPayload,
    DecideRegistrationInput,
    EstimateFromBundleInput,
    PartnerProgramme,
    PartnerProgrammePayload,
    PartnerReport,
    PartnerTarget,
    PartnerTargetPayload,
    PartnerTierDef,
    PartnerTierDefPayload,
    RegistrationFilter,
    SaveBundleInput,
    SavePartnerProgrammeInput,
    SaveTierDefInput,
    SetTargetInput,
    SubmitRegistrationInput,
    TierReviewRow,
)
from .sales_types import Estimate, EstimatePayload

PROGRAMME = "partner_tiers"  # one document per partner company (id = its company id), as setPartnerTier wrote
PARTNER_UPDATED = "deals.partner.updated"
REGISTRATION_EVENTS = {s: f"deals.registration.{s}" for s in ("submitted", "approved", "rejected", "expired", "won")}
INDEXES = {
    "registrations": [
        [("partner_id", 1), ("submitted_at", -1)],
        [("status", 1), ("expires_at", 1)],
        [("name_key", 1)],
        [("domain_key", 1)],
        [("email_key", 1)],
        [("phone_key", 1)],
        [("registration_key", 1)],
        [("vat_key", 1)],
        # with the id: a blocking query reads its first CANDIDATES in index order, however big the block
        [("block_key", 1), ("_id", 1)],
        [("block2_key", 1), ("_id", 1)],
    ],
    "client_keys": [
        [("name_key", 1)],
        [("domain_key", 1)],
        [("email_key", 1)],
        [("block_key", 1), ("_id", 1)],
        [("block2_key", 1), ("_id", 1)],
    ],
    "partner_targets": [[("partner_id", 1), ("period", 1)]],
}
MAX_PARTNERS = 500  # partners in one manager's report (more: a resumable export job, not built)
NOTHING = "\x00"  # a key value no record has
CANDIDATES = 200  # per blocking query of the fuzzy name rule (as contacts' duplicates)
STAFF_KEYS = ("name_key", "domain_key", "email_key")  # what contacts' events tell deals of a client


def partner_of(c, partner_id) -> str:
    """The partner a report is about: a partner user's own company, whatever it asks for."""
    if c.principal.role == PARTNER:
        return c.principal.company
    if not partner_id:
        raise PublicError("partnerId is required")
    return str(partner_id)


def _period(period: str) -> list[str]:
    try:
        return R.months_of(period)
    except InputError as exc:
        raise PublicError(exc.message) from None


def programme_event(doc: dict) -> Envelope:
    data = {k: doc.get(k) for k in ("id", "tier", "support_enabled", "regions", "industries")}
    data["version"] = int(doc.get("version") or 1)
    return Envelope(PARTNER_UPDATED, doc["id"], data)


def registration_event(kind: str, doc: dict) -> Envelope:
    keep = ("id", "partner_id", "company_id", "client_name", "project", "status", "expires_at", "won_deal_id")
    return Envelope(REGISTRATION_EVENTS[kind], doc["id"], {k: doc.get(k) for k in keep})


# ---- conflict detection -----------------------------------------------------------------------
async def find_conflicts(store, keys: dict, partner_id: str) -> list[dict]:
    """Held clients matching `keys` by the duplicate rules: open staff deals (through the client
    keys kept from contacts' events) and other partners' live registrations. Candidates come from
    one indexed equality query per key and per blocking key of the name (the fuzzy rule's
    pre-filter: both keys in both fields, at most CANDIDATES each); the rules (`R.conflicts`) then
    decide. The same queries run whatever they find (a blocking query costs what its block holds,
    up to CANDIDATES rows, whether the client is held or not)."""
    # an `$or` of the keys is a scan on SQLite: one query per key; a missing key queries a value
    # nothing has, so the same queries run for every submission. Each blocking key is its own
    # equality query in id order (an `$in` of two would sort the whole block before its limit).
    blocks = [keys.get("block_key") or NOTHING, keys.get("block2_key") or NOTHING]
    fuzzy = [({f: b}, CANDIDATES) for f in ("block_key", "block2_key") for b in blocks]
    staff_probes = [({k: keys.get(k) or NOTHING}, 100) for k in STAFF_KEYS] + fuzzy
    reg_probes = [({k: keys.get(k) or NOTHING}, 100) for k in R.KEY_FIELDS] + fuzzy
    known_by_id: dict[str, dict] = {}
    for probe, first in staff_probes:
        for k in (await store.find("client_keys", probe, first=first)).items:
            known_by_id[k["id"]] = k
    # only candidates the rules match need their deals (a blocking key alone is no conflict)
    known = [k for k in sorted(known_by_id.values(), key=lambda k: k["id"]) if R.matched_on(keys, k)[0]]
    company_ids = sorted({k["company_id"] for k in known if k.get("company_id")})
    deals = (
        await store.find(
            "deals",
            {"$and": [{"company_id": {"$in": company_ids}}, {"status": "open"}, {"partner_id": None}]},
            first=100,
        )
    ).items
    by_company: dict[str, list[dict]] = {}
    for d in deals:
        by_company.setdefault(d["company_id"], []).append(d)
    staff = [
        {
            **k,
            "deal_ids": [d["id"] for d in by_company[k["company_id"]]],
            "owner": by_company[k["company_id"]][0].get("owner"),
        }
        for k in known
        if k.get("company_id") in by_company
    ]
    regs_by_id: dict[str, dict] = {}
    for probe, first in reg_probes:
        flt = all_of(probe, {"partner_id": {"$ne": partner_id}}, {"status": {"$in": list(R.LIVE)}})
        for r in (await store.find("registrations", flt, first=first)).items:
            regs_by_id[r["id"]] = r
    regs = sorted(regs_by_id.values(), key=lambda r: r["id"])
    return R.conflicts(keys, staff, regs)


async def on_client(store, e: Envelope, kind: str) -> None:
    """The client keys of contacts' companies and people (normalised name, domain, e-mail)."""
    d = e.data
    version = int(d.get("version") or 0)
    if kind == "company":
        body = {"company_id": d["id"], **R.client_keys(d.get("name"))}
        body["domain_key"] = body["email_key"] = None
    else:
        body = {"company_id": d.get("company_id"), **R.client_keys(None, None, d.get("email"))}

    def fn(cur):
        if cur and int(cur.get("source_version") or 0) >= version:
            return None
        return {**body, "source_version": version}

    await store.mutate("client_keys", f"{kind}:{d['id']}", fn, create=True)


async def on_deal_won(store, e: Envelope) -> None:
    """A won deal of a partner at the client of one of its approved registrations makes it won."""
    d = e.data
    if not d.get("partner_id"):
        return
    now = e.occurred_at
    for r in await store.find_all(
        "registrations",
        {"$and": [{"partner_id": d["partner_id"]}, {"company_id": d["company_id"]}, {"status": "approved"}]},
    ):
        await store.mutate(
            "registrations",
            r["id"],
            lambda doc: R.win(doc, d["id"], now),
            events=lambda old, new: [registration_event("won", new)],
        )


def expiry_fire(doc: dict, now: str) -> tuple[dict | None, list[Envelope]]:
    changes = R.expire(doc, now)
    if changes is None:
        return None, []
    return changes, [registration_event("expired", {**doc, **changes})]


def subscriptions(service: Service) -> list[Subscription]:
    return [
        Subscription(
            "client-keys-companies",
            ["contacts.company.created", "contacts.company.updated"],
            lambda e: on_client(service.store, e, "company"),
        ),
        Subscription(
            "client-keys-contacts",
            ["contacts.contact.created", "contacts.contact.updated"],
            lambda e: on_client(service.store, e, "contact"),
        ),
        Subscription("registration-won", ["deals.deal.won"], lambda e: on_deal_won(service.store, e)),
    ]


# ---- figures ----------------------------------------------------------------------------------
async def partner_figures(c, partner_id: str, months: list[str], currency: str) -> dict:
    """Won deals (count, amount) in `months`, accepted estimates of its open deals, certified users."""
    won = await c.store.group(
        "deals",
        ["partner_id"],
        sums=["amount_minor"],
        flt={
            "$and": [
                {"partner_id": partner_id},
                {"status": "won"},
                {"currency": currency},
                {"won_month": {"$in": months}},
            ]
        },
    )
    open_deal_ids = {
        d["id"]
        for d in await c.store.find_all(
            "deals", {"$and": [{"partner_id": partner_id}, {"status": "open"}, {"accepted_estimate_id": {"$ne": None}}]}
        )
    }
    accepted_open = 0
    if open_deal_ids:
        for est in await c.store.find_all(
            "estimates", {"$and": [{"deal_id": {"$in": sorted(open_deal_ids)}}, {"status": "accepted"}]}
        ):
            if est["currency"] == currency:
                accepted_open += int(est["totals"]["total_minor"])
    prog = await c.store.get(PROGRAMME, partner_id) or {}
    return {
        "won_minor": int(won[0]["sum"]["amount_minor"]) if won else 0,
        "won_deals": int(won[0]["count"]) if won else 0,
        "accepted_minor": accepted_open,
        "certified": sum(1 for u in prog.get("users") or [] if u.get("certified")),
    }


def _target(doc: dict, f: dict) -> PartnerTarget:
    p = R.progress(doc, f["won_minor"], f["won_deals"], f["accepted_minor"], f["certified"])
    return PartnerTarget(
        partner_id=doc["partner_id"],
        period=doc["period"],
        currency=doc["currency"],
        deals=doc.get("deals"),
        certified_staff=doc.get("certified_staff"),
        won_deals=p["won_deals"],
        certified=p["certified"],
        revenue_percent=p["revenue_pct"],
        deals_percent=p["deals_pct"],
        certified_percent=p["certified_pct"],
        revenue_minor=doc.get("revenue_minor"),
        won_minor=p["won_minor"],
        accepted_minor=p["accepted_minor"],
    )


async def _report(c, partner_id: str, period: str, currency: str) -> PartnerReport:
    months = _period(period)
    deals = await c.store.find_all(
        "deals", c.scoped("deals", {"$and": [{"partner_id": partner_id}, {"currency": currency}]})
    )
    regs = await c.store.find_all("registrations", c.scoped("registrations", {"partner_id": partner_id}))
    return PartnerReport.of(partner_id, period, R.report(deals, regs, months), currency)


async def _partner_ids(c) -> list[str]:
    docs = (await c.store.find(PROGRAMME, c.scoped(PROGRAMME, {}), sort=[("id", 1)], first=MAX_PARTNERS)).items
    return [d["id"] for d in docs]


async def _chain(c, partner_id: str | None) -> list[ChainRow]:
    flt = all_of({"partner_id": {"$ne": None}}, {"partner_id": partner_id} if partner_id else None)
    deals = await c.store.find_all("deals", c.scoped("deals", flt), sort=[("company_id", 1), ("created_at", 1)])
    est_ids = [d["accepted_estimate_id"] for d in deals if d.get("accepted_estimate_id")]
    ests = await c.store.get_many("estimates", est_ids) if est_ids else {}
    regs = await c.store.find_all(
        "registrations",
        c.scoped(
            "registrations",
            all_of({"status": {"$in": ["approved", "won"]}}, {"partner_id": partner_id} if partner_id else None),
        ),
    )
    sellers = {(r["partner_id"], r.get("company_id")): r.get("submitted_by") for r in regs}
    rows: dict[tuple[str, str], ChainRow] = {}
    for d in deals:
        key = (d["partner_id"], d["company_id"])
        row = rows.get(key)
        if row is None:
            row = rows[key] = ChainRow(
                partner_id=d["partner_id"],
                client_id=d["company_id"],
                sold_by=sellers.get(key) or d["partner_id"],
                delivered_by=d.get("owner"),
                bought=[],
            )
        est = ests.get(d.get("accepted_estimate_id") or "")
        row.bought.append(
            BoughtItem(
                deal_id=d["id"],
                title=d["title"],
                status=domain.DealStatus(d["status"]),
                amount=_money(d.get("amount_minor"), d.get("currency")),
                products=[
                    ln.get("sku") or ln.get("name") or ""
                    for ln in (est or {}).get("lines") or []
                    if ln["kind"] == "item"
                ],
            )
        )
    return list(rows.values())


def _money(minor, cur):
    from services.common.graphql import Money

    return Money.from_minor(minor, cur)


# ---- GraphQL ------------------------------------------------------------------------------------
@strawberry.type
class PartnerQuery:
    @strawberry.field(
        description="A partner's programme (tier, agreement, users). A partner reads its own only.",
        extensions=allow(PROGRAMME_READERS, scoped={PARTNER}),
    )
    async def partner_programme(self, info: Info, company_id: strawberry.ID | None = None) -> PartnerProgramme | None:
        c = info.context
        pid = c.principal.company if c.principal.role == PARTNER and company_id is None else company_id
        return await c.one(PROGRAMME, pid, PartnerProgramme.of) if pid else None

    @strawberry.field(description="Partner programmes (staff).", extensions=allow(PARTNER_MANAGERS | {ADMIN}))
    async def partner_programmes(
        self, info: Info, first: int | None = None, after: str | None = None, tier: str | None = None
    ) -> Connection[PartnerProgramme] | None:
        return await info.context.page(
            PROGRAMME, {"tier": tier} if tier else {}, [("id", 1)], first, after, PartnerProgramme.of
        )

    @strawberry.field(description="The partner tiers and their thresholds.", extensions=allow(STAFF))
    async def partner_tier_defs(self, info: Info) -> list[PartnerTierDef] | None:
        c = info.context
        return [
            PartnerTierDef.of(d) for d in await c.store.find_all("tier_defs", c.scope("tier_defs"), sort=[("rank", 1)])
        ]

    @strawberry.field(extensions=allow(PROGRAMME_READERS, scoped={PARTNER}))
    async def deal_registration(self, info: Info, id: strawberry.ID) -> DealRegistration | None:
        return await info.context.one("registrations", id, DealRegistration.of)

    @strawberry.field(
        description="Deal registrations, newest first. Staff see who holds which client "
        "(status APPROVED); a partner sees its own.",
        extensions=allow(PROGRAMME_READERS, scoped={PARTNER}),
    )
    async def deal_registrations(
        self, info: Info, first: int | None = None, after: str | None = None, filter: RegistrationFilter | None = None
    ) -> Connection[DealRegistration] | None:
        c = info.context
        f = filter or RegistrationFilter()
        flt = all_of(
            {"status": f.status.value} if f.status else None,
            {"partner_id": str(f.partner_id)} if f.partner_id else None,
            # the conflict flag is staff knowledge: a partner's filter on it is ignored
            {"review_conflict": f.conflict} if f.conflict is not None and c.principal.is_staff else None,
        )
        return await c.page("registrations", flt, [("submitted_at", -1), ("id", -1)], first, after, DealRegistration.of)

    @strawberry.field(
        description="The partner manager's review queue: registrations under review that conflict "
        "with a held client or lie outside the partner's territory, with the evidence (`conflicts`).",
        extensions=allow(PARTNER_MANAGERS),
    )
    async def registration_review_queue(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[DealRegistration] | None:
        flt = {"$and": [{"status": "under_review"}, {"review_conflict": True}]}
        return await info.context.page("registrations", flt, [("submitted_at", 1)], first, after, DealRegistration.of)

    @strawberry.field(
        description="Targets and progress of a partner (a partner: its own).",
        extensions=allow(PROGRAMME_READERS, scoped={PARTNER}),
    )
    async def partner_targets(
        self, info: Info, partner_id: strawberry.ID | None = None, period: str | None = None
    ) -> list[PartnerTarget] | None:
        c = info.context
        pid = partner_of(c, partner_id)
        docs = await c.store.find_all(
            "partner_targets",
            c.scoped("partner_targets", all_of({"partner_id": pid}, {"period": period} if period else None)),
            sort=[("period", 1)],
        )
        out = []
        for d in docs:
            out.append(_target(d, await partner_figures(c, pid, _period(d["period"]), d["currency"])))
        return out

    @strawberry.field(
        description='Partners above or below their tier\'s thresholds over `period` (e.g. "2026").',
        extensions=allow(PARTNER_MANAGERS),
    )
    async def tier_review(self, info: Info, period: str, currency: str = "EUR") -> list[TierReviewRow] | None:
        c = info.context
        months, cur = _period(period), parse_currency(currency)
        defs = await c.store.find_all("tier_defs", {})
        rows = []
        for pid in await _partner_ids(c):
            prog = await c.store.get(PROGRAMME, pid) or {}
            f = await partner_figures(c, pid, months, cur)
            standing, qualifies = R.tier_standing(
                prog.get("tier"), defs, f["won_minor"], f["won_deals"], f["certified"]
            )
            rows.append(
                TierReviewRow(
                    partner_id=pid,
                    tier=prog.get("tier"),
                    standing=standing,
                    qualifies_for=qualifies,
                    won_deals=f["won_deals"],
                    certified=f["certified"],
                    currency=cur,
                    won_minor=f["won_minor"],
                )
            )
        return rows

    @strawberry.field(
        description="A partner's pipeline, win rate, revenue by month and registrations (a partner: its own).",
        extensions=allow(PROGRAMME_READERS, scoped={PARTNER}),
    )
    async def partner_report(
        self, info: Info, period: str, currency: str = "EUR", partner_id: strawberry.ID | None = None
    ) -> PartnerReport | None:
        c = info.context
        return await _report(c, partner_of(c, partner_id), period, parse_currency(currency))

    @strawberry.field(
        description="The same report for every partner (partner managers).", extensions=allow(PARTNER_MANAGERS)
    )
    async def partner_reports(self, info: Info, period: str, currency: str = "EUR") -> list[PartnerReport] | None:
        c = info.context
        cur = parse_currency(currency)
        return [await _report(c, pid, period, cur) for pid in await _partner_ids(c)]

    @strawberry.field(
        description="The chain: each end client reached through a partner — who sold, who delivers, "
        "what it bought; `client { tickets }` adds its tickets from support.",
        extensions=allow(PARTNER_MANAGERS),
    )
    async def partner_chain(self, info: Info, partner_id: strawberry.ID | None = None) -> list[ChainRow] | None:
        return await _chain(info.context, str(partner_id) if partner_id else None)

    @strawberry.field(
        description="CSV export: `report` (partner reports; a partner: its own) or `chain` "
        "(partner managers). Audited.",
        extensions=allow(PROGRAMME_READERS, scoped={PARTNER}),
    )
    async def partner_export_csv(self, info: Info, kind: str, period: str, currency: str = "EUR") -> str | None:
        c = info.context
        cur = parse_currency(currency)
        if kind == "report":
            pids = [c.principal.company] if c.principal.role == PARTNER else await _partner_ids(c)
            months = _period(period)
            header = [
                "partner_id",
                "period",
                "currency",
                "open_deals",
                "pipeline",
                "won_deals",
                "lost_deals",
                "win_rate",
            ]
            header += [f"revenue_{m}" for m in months] + ["registrations"]
            rows = []
            for pid in pids:
                r = await _report(c, pid, period, cur)
                rows.append(
                    [pid, period, cur, r.open_deals, _amount(r.open_minor, cur), r.won_deals, r.lost_deals, r.win_rate]
                    + [_amount(r.by_month[m], cur) for m in months]
                    + ["; ".join(f"{x.status.value}={x.count}" for x in r.registrations)]
                )
        elif kind == "chain" and c.principal.role in PARTNER_MANAGERS:
            header = [
                "partner_id",
                "client_id",
                "sold_by",
                "delivered_by",
                "deal_id",
                "title",
                "status",
                "amount",
                "currency",
                "products",
            ]
            rows = [
                [row.partner_id, row.client_id, row.sold_by, row.delivered_by, b.deal_id, b.title, b.status.value,
                 b.amount.amount if b.amount else None, b.amount.currency if b.amount else None, " ".join(b.products)]
                for row in await _chain(c, None)
                for b in row.bought
            ]  # fmt: skip
        else:
            raise PublicError("kind must be report or chain (chain: partner managers)")
        await c.store.emit(
            [c.audit("exported", "PartnerExport", f"{kind}:{period}", {"rows": {"from": None, "to": len(rows)}})]
        )
        return R.to_csv(header, rows)

    @strawberry.field(
        description="Standard configurations. Partners read the active ones.",
        extensions=allow(PROGRAMME_READERS, scoped={PARTNER}),
    )
    async def bundles(self, info: Info) -> list[Bundle] | None:
        c = info.context
        return [Bundle.of(d) for d in await c.store.find_all("bundles", c.scope("bundles"), sort=[("name", 1)])]


def _amount(minor: int, cur: str) -> str:
    from services.common import money

    return str(money.from_minor(minor, cur))


@strawberry.type
class PartnerMutation:
    @strawberry.mutation(description="A partner tier: discount limit and review thresholds.", extensions=allow(ADMIN))
    @payload_errors(PartnerTierDefPayload)
    async def save_partner_tier(self, info: Info, input: SaveTierDefInput) -> PartnerTierDefPayload | None:
        c = info.context
        key = (clean_text(input.id, "id", required=True, max_len=32) or "").lower()
        cur = parse_currency(input.currency)
        min_rev, _ = parse_money(input.min_revenue, cur, "minRevenue")
        body = {
            "name": clean_text(input.name, "name", required=True, max_len=64),
            "rank": int(input.rank),
            "max_discount_pct": str(E.percent(input.max_discount_percent, ["input", "maxDiscountPercent"])),
            "currency": cur,
            "min_revenue_minor": min_rev,
            "min_deals": max(int(input.min_deals), 0),
            "min_certified": max(int(input.min_certified), 0),
        }
        audit = c.audit("updated", "PartnerTierDef", key, {k: {"from": None, "to": v} for k, v in body.items()})
        doc = await c.store.mutate("tier_defs", key, lambda d: {**(d or {}), **body}, create=True, events=[audit])
        return PartnerTierDefPayload(tier=PartnerTierDef.of(doc))

    @strawberry.mutation(
        description="A partner company's programme: tier (audited, with its history), agreement, portal users, "
        "partner support.",
        extensions=allow(ADMIN),
    )
    @payload_errors(PartnerProgrammePayload)
    async def save_partner_programme(
        self, info: Info, input: SavePartnerProgrammeInput
    ) -> PartnerProgrammePayload | None:
        c = info.context
        company = await c.referenced("ref_companies", input.company_id, "company", "companyId")
        if company.get("kind") != "partner":
            raise InputError(ErrorCode.INVALID, "the company is not a partner", ["input", "companyId"])
        changes: dict = {}
        tier = None
        if input.tier is not None:
            tier = (clean_text(input.tier, "tier", max_len=32) or "").lower() or None
            if tier and await c.store.get("tier_defs", tier) is None:
                raise InputError(ErrorCode.UNKNOWN_REFERENCE, f"tier {tier} does not exist", ["input", "tier"])
            changes["tier"] = tier
        start = date_input(input.agreement_start, "agreementStart") if input.agreement_start is not None else None
        end = date_input(input.agreement_end, "agreementEnd") if input.agreement_end is not None else None
        if input.agreement_start is not None:
            changes["agreement_start"] = start
        if input.agreement_end is not None:
            changes["agreement_end"] = end
        for name in ("regions", "industries"):
            values = getattr(input, name)
            if values is not None:
                changes[name] = sorted({clean_text(v, name, required=True, max_len=64) for v in values})
        if input.users is not None:
            changes["users"] = R.check_users(
                {
                    "sub": u.sub,
                    "name": clean_text(u.name, "name"),
                    "portal_role": u.portal_role,
                    "certified": u.certified,
                }
                for u in input.users
            )
        if input.support_enabled is not None:
            changes["support_enabled"] = input.support_enabled
        reason = clean_text(input.reason, "reason", max_len=300) or None
        now, by = now_iso(), c.principal.sub

        def fn(d: dict | None) -> dict:
            new = {"regions": [], "industries": [], "users": [], "support_enabled": False, "tier_history": []}
            new.update(d or {})
            new["id"] = company["id"]
            R.check_agreement(
                changes.get("agreement_start", new.get("agreement_start")),
                changes.get("agreement_end", new.get("agreement_end")),
            )
            if "tier" in changes:
                h = R.tier_change(new.get("tier"), changes["tier"], by, now, reason)
                if h:
                    new["tier_history"] = [*new["tier_history"], h][-50:]
            new.update(changes)
            return new

        from services.common.audit import diff

        doc = await c.store.mutate(
            PROGRAMME,
            company["id"],
            fn,
            create=True,
            events=lambda old, new: [
                programme_event(new),
                c.audit("updated", "PartnerProgramme", new["id"], diff(old, new)),
            ],
        )
        return PartnerProgrammePayload(programme=PartnerProgramme.of(doc))

    @strawberry.mutation(
        description="Register an opportunity (end client, project, value, expected close). Every registration "
        "answers UNDER_REVIEW; the partner manager approves or rejects it.",
        extensions=allow(PARTNER, scoped={PARTNER}),
    )
    @payload_errors(DealRegistrationPayload)
    async def submit_deal_registration(
        self, info: Info, input: SubmitRegistrationInput
    ) -> DealRegistrationPayload | None:
        c = info.context
        p = c.principal
        name = clean_text(input.client_name, "clientName", required=True, max_len=200)
        project = clean_text(input.project, "project", required=True, max_len=300)
        value_minor, cur = parse_money(input.estimated_value, input.currency, "estimatedValue")
        if value_minor < 0:
            raise InputError(ErrorCode.INVALID, "the estimated value cannot be negative", ["input", "estimatedValue"])
        website = clean_text(input.client_website, "clientWebsite", max_len=200) or None
        try:
            mail = clean_email(input.client_email)
        except InputError as exc:
            raise InputError(exc.code, exc.message, ["input", "clientEmail"]) from None
        phone = clean_text(input.client_phone, "clientPhone", max_len=40) or None
        country = (clean_text(input.client_country, "clientCountry", max_len=2) or "").upper() or None
        if country is not None and not (len(country) == 2 and country.isalpha()):
            raise InputError(
                ErrorCode.INVALID, "clientCountry is an ISO country code (NO, DE, …)", ["input", "clientCountry"]
            )
        region = clean_text(input.client_region, "clientRegion", max_len=64) or None
        industry = clean_text(input.client_industry, "clientIndustry", max_len=64) or None
        reg_no = clean_text(input.client_registration_number, "clientRegistrationNumber", max_len=40) or None
        vat = clean_text(input.client_vat_number, "clientVatNumber", max_len=40) or None
        company = None
        if input.company_id:
            company = await c.referenced("ref_companies", input.company_id, "company", "companyId")
        keys = R.client_keys(name, website, mail, phone=phone, country=country, registration=reg_no, vat=vat)
        if phone and not keys["phone_key"]:
            raise InputError(ErrorCode.INVALID, f"{phone!r} is not a phone number (give its country code or "
                             "clientCountry)", ["input", "clientPhone"])  # fmt: skip
        prog = await c.store.get(PROGRAMME, p.company)
        R.check_agreement_in_force(prog, now_iso()[:10])
        company_id = company["id"] if company else None
        known = company or {}
        evidence = await find_conflicts(c.store, keys, p.company)
        territory = R.outside_territory(
            prog,
            [region, known.get("city")],
            country or known.get("country"),
            industry or known.get("industry"),
        )
        if territory:
            evidence.append(territory)
        body = {
            "id": new_id(),
            "partner_id": p.company,
            "submitted_by": p.sub,
            "client_name": name,
            "client_website": website,
            "client_email": mail,
            "client_phone": phone,
            "client_country": country,
            "client_region": region,
            "client_industry": industry,
            "client_registration_number": reg_no,
            "client_vat_number": vat,
            "company_id": company_id,
            "project": project,
            "value_minor": value_minor,
            "currency": cur,
            "expected_close": date_input(input.expected_close, "expectedClose"),
            "status": R.RegistrationStatus.UNDER_REVIEW.value,
            "submitted_at": now_iso(),
            "review_conflict": bool(evidence),
            **keys,
        }
        # the review record is written for every submission (with or without evidence): the same writes either way
        await c.store.insert("registration_reviews", {"id": body["id"], "partner_id": p.company, "evidence": evidence})
        doc = await c.create("registrations", "DealRegistration", body, events=[registration_event("submitted", body)])
        return DealRegistrationPayload(registration=DealRegistration.of(doc))

    @strawberry.mutation(
        description="Approve (exclusive for the protection period) or reject (with a reason) a registration.",
        extensions=allow(PARTNER_MANAGERS),
    )
    @payload_errors(DealRegistrationPayload)
    async def decide_deal_registration(
        self, info: Info, input: DecideRegistrationInput
    ) -> DealRegistrationPayload | None:
        c = info.context
        reason = clean_text(input.reason, "reason", max_len=500) or None
        days = c.service.config.protection_days
        now = now_iso()
        doc = await c.update(
            "registrations",
            "DealRegistration",
            input.id,
            lambda d: R.decide(d, input.approve, reason, now, days),
            expected_version=input.expected_version,
            events=lambda old, new: [registration_event(new["status"], new)],
        )
        return DealRegistrationPayload(registration=DealRegistration.of(doc))

    @strawberry.mutation(description="A partner's targets for a period.", extensions=allow(PARTNER_MANAGERS))
    @payload_errors(PartnerTargetPayload)
    async def set_partner_target(self, info: Info, input: SetTargetInput) -> PartnerTargetPayload | None:
        c = info.context
        prog = await c.get(PROGRAMME, str(input.partner_id))
        if prog is None:
            raise InputError(
                ErrorCode.UNKNOWN_REFERENCE, f"partner {input.partner_id} has no programme", ["input", "partnerId"]
            )
        months = R.months_of(input.period)
        cur = parse_currency(input.currency)
        revenue = parse_money(input.revenue, cur, "revenue")[0] if input.revenue is not None else None
        for name in ("deals", "certified_staff"):
            v = getattr(input, name)
            if v is not None and v < 0:
                raise InputError(ErrorCode.INVALID, f"{name} cannot be negative", ["input", name])
        key = f"{prog['id']}:{input.period}:{cur}"
        body = {
            "partner_id": prog["id"],
            "period": input.period,
            "currency": cur,
            "revenue_minor": revenue,
            "deals": input.deals,
            "certified_staff": input.certified_staff,
        }
        audit = c.audit("updated", "PartnerTarget", key, {k: {"from": None, "to": v} for k, v in body.items()})
        doc = await c.store.mutate("partner_targets", key, lambda d: {**(d or {}), **body}, create=True, events=[audit])
        return PartnerTargetPayload(target=_target(doc, await partner_figures(c, prog["id"], months, cur)))

    @strawberry.mutation(description="Save a standard configuration (bundle).", extensions=allow(PARTNER_MANAGERS))
    @payload_errors(BundlePayload)
    async def save_bundle(self, info: Info, input: SaveBundleInput) -> BundlePayload | None:
        c = info.context
        ids = [str(i.product_id) for i in input.items]
        products = await c.store.get_many("products", ids) if ids else {}
        items = []
        for n, i in enumerate(input.items):
            prod = products.get(str(i.product_id))
            if prod is None:
                raise InputError(
                    ErrorCode.UNKNOWN_REFERENCE, f"product {i.product_id} does not exist", ["input", "items", str(n)]
                )
            qty = E.quantity(i.quantity, ["input", "items", str(n), "quantity"])
            stage = (clean_text(i.stage, "stage", required=True, max_len=64) or "").lower()
            items.append(
                {
                    "product_id": prod["id"],
                    "sku": prod.get("sku"),
                    "name": prod.get("name"),
                    "stage": stage,
                    "quantity": str(qty),
                }
            )
        work = []
        for n, w in enumerate(input.work):
            work.append(
                {
                    "stage": (clean_text(w.stage, "stage", required=True, max_len=64) or "").lower(),
                    "discipline": (clean_text(w.discipline, "discipline", required=True, max_len=64) or "").lower(),
                    "hours": str(E.hours(w.hours, ["input", "work", str(n), "hours"])),
                }
            )
        R.check_bundle(items, work)
        body = {
            "name": clean_text(input.name, "name", required=True, max_len=200),
            "description": clean_text(input.description, "description", max_len=2000) or None,
            "active": input.active,
            "items": items,
            "work": work,
        }
        if input.id:
            doc = await c.update("bundles", "Bundle", input.id, lambda d: {**d, **body}, expected_version=None)
        else:
            doc = await c.create("bundles", "Bundle", {"id": new_id(), **body})
        return BundlePayload(bundle=Bundle.of(doc))

    @strawberry.mutation(
        description="A draft estimate of a deal from a bundle, at the caller's prices: a partner's tier price "
        "list (its discount limited by its tier); staff name a price list or get the general one.",
        extensions=allow(ADMIN, SALES, PARTNER, scoped={SALES, PARTNER}),
    )
    @payload_errors(EstimatePayload)
    async def start_estimate_from_bundle(self, info: Info, input: EstimateFromBundleInput) -> EstimatePayload | None:
        from .sales_api import _insert_estimate, _next_revision, _priced, build_lines
        from .sales_types import EstimateLineInput, LineKind

        c = info.context
        p = c.principal
        deal = await c.referenced("deals", input.deal_id, "deal", "dealId")
        if deal["status"] != domain.DealStatus.OPEN.value:
            raise InputError(ErrorCode.INVALID, f"the deal is {deal['status']}", ["input", "dealId"])
        bundle = await c.referenced("bundles", input.bundle_id, "bundle", "bundleId")
        discount = E.percent(input.discount_percent or 0, ["input", "discountPercent"])
        today = now_iso()[:10]
        active = all_of({"active": True}, {"from_key": {"$lte": today}}, {"to_key": {"$gte": today}})
        currency = {"currency": deal["currency"]} if deal.get("currency") else None
        if p.role == PARTNER:
            prog = await c.store.get(PROGRAMME, p.company) or {}
            tier = prog.get("tier")
            R.check_discount(discount, await c.store.get("tier_defs", tier) if tier else None)
            flt = all_of(active, {"tier_key": tier or ""}, currency)
        elif input.price_list_id:
            flt = all_of(active, {"id": str(input.price_list_id)})
        else:
            flt = all_of(active, {"tier_key": ""}, currency)
        found = await c.store.find("price_lists", flt, sort=[("name", 1)], first=1)
        if not found.items:
            raise InputError(
                ErrorCode.INVALID,
                f"no active price list in {deal.get('currency') or 'any currency'} for you",
                ["input", "dealId"],
            )
        pl = found.items[0]
        lines_in = [
            EstimateLineInput(
                kind=LineKind.WORK, stage=w["stage"], discipline=w["discipline"], hours=decimal.Decimal(w["hours"])
            )
            for w in bundle.get("work") or []
        ] + [
            EstimateLineInput(
                kind=LineKind.ITEM,
                stage=i["stage"],
                product_id=i["product_id"],
                quantity=decimal.Decimal(i["quantity"]),
            )
            for i in bundle.get("items") or []
        ]
        body = {
            "id": new_id(),
            "deal_id": deal["id"],
            "company_id": deal["company_id"],
            "contact_id": deal.get("contact_id"),
            "partner_id": deal.get("partner_id"),
            "owner": deal.get("owner"),
            "revision": await _next_revision(c, deal["id"]),
            "status": E.EstimateStatus.DRAFT.value,
            "title": f"{deal['title']} — {bundle['name']}",
            "currency": pl["currency"],
            "price_list_id": pl["id"],
            "bundle_id": bundle["id"],
            "valid_until": None,
            "discount_pct": str(discount),
            "taxes": [],
            "lines": await build_lines(c, pl, lines_in),
        }
        doc = await _insert_estimate(c, _priced(body))
        return EstimatePayload(estimate=Estimate.from_doc(doc))
