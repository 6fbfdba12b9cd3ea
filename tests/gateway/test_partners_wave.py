"""Partners as a channel (issue #16, docs/partners.md) through the real gateway, on both legs:
two partners register the same end client (the second goes to review; neither learns the other
exists — its answers are compared byte for byte with those for a client nobody holds), approval
then expiry by the scheduler, quota progress after a won deal and the tier review, the chain
report with the client's tickets and CSV, an estimate from a bundle at the partner's tier prices,
another partner's token against every partner-facing list, filter and total, conflicts by the
duplicate rules (a similar name, phone, VAT number) and the territory and dates of the agreement.

Each test makes its own partner companies and tiers, so the tests do not see each other's data."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import httpx

from devtools.demo_partners import agreement_end
from tests.gateway.conftest import codes, eventually

END = agreement_end()  # an agreement that has not ended on the day the tests run

COMPANY = "mutation($i: CreateCompanyInput!) { createCompany(input: $i) { company { id } errors { code } } }"
CONTACT = "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id } errors { code } } }"
TIER = """mutation($i: SaveTierDefInput!) { savePartnerTier(input: $i) {
  tier { id name rank maxDiscountPercent minRevenue { amount currency } } errors { code message field } } }"""
PROGRAMME = """mutation($i: SavePartnerProgrammeInput!) { savePartnerProgramme(input: $i) {
  programme { companyId tier version } errors { code message field } } }"""
SUBMIT = """mutation($i: SubmitRegistrationInput!) { submitDealRegistration(input: $i) {
  registration { id status clientName clientWebsite clientEmail project estimatedValue { amount currency }
                 expectedClose reason decidedAt expiresAt wonDealId version }
  errors { code message field } } }"""
REG_FIELDS = """id status clientName clientWebsite clientEmail project estimatedValue { amount currency }
  expectedClose reason decidedAt expiresAt wonDealId version"""
DECIDE = """mutation($i: DecideRegistrationInput!) { decideDealRegistration(input: $i) {
  registration { id status reason expiresAt version } errors { code message field } } }"""
DEAL = """mutation($i: CreateDealInput!) { createDeal(input: $i) { deal { id version } errors { code message } } }"""
MOVE = (
    """mutation($i: MoveDealStageInput!) { moveDealStage(input: $i) { deal { id status version } errors { code } } }"""
)


def ok(payload: dict) -> dict:
    assert not payload["errors"], payload["errors"]
    return payload


def u() -> str:
    return uuid.uuid4().hex[:8]


async def new_partner(gw, as_role, name: str, tier: str | None = None, **programme):
    """A partner company with its programme, and a token of one of its users."""
    d = await gw.ok(COMPANY, {"i": {"name": f"{name} {u()}", "kind": "PARTNER"}})
    pid = d["createCompany"]["company"]["id"]

    async def saved():
        d = (await gw.ok(PROGRAMME, {"i": {"companyId": pid, "tier": tier, **programme}}))["savePartnerProgramme"]
        assert not d["errors"], d["errors"]  # UNKNOWN_REFERENCE until deals has the company
        return d

    await eventually(saved)
    return pid, as_role("partner", f"user@{pid}", company=pid)


async def new_tier(gw, rank: int = 1, **kw) -> str:
    key = f"t{u()}"
    ok((await gw.ok(TIER, {"i": {"id": key, "name": key.upper(), "rank": rank, **kw}}))["savePartnerTier"])
    return key


async def retry_ref(client, query: str, variables: dict, name: str) -> dict:
    """A mutation retried while the other service's event has not reached deals yet."""

    async def attempt():
        d = (await client.ok(query, variables))[name]
        assert not any(e["code"] == "UNKNOWN_REFERENCE" for e in d["errors"]), d["errors"]
        return d

    return await eventually(attempt)


async def partner_deal(gw, partner, title: str, amount: str) -> tuple[str, str]:
    """A prospect the partner registers, and a deal of the partner at it."""
    d = await partner.ok(COMPANY, {"i": {"name": f"{title} client {u()}", "kind": "PROSPECT"}})
    cid = d["createCompany"]["company"]["id"]
    deal = ok(
        await retry_ref(
            partner, DEAL, {"i": {"title": title, "companyId": cid, "amount": amount, "currency": "EUR"}}, "createDeal"
        )
    )["deal"]
    return cid, deal["id"]


async def win(gw, deal_id: str) -> None:
    d = await gw.ok("query($id: ID!) { deal(id: $id) { version } }", {"id": deal_id})
    ok(
        (await gw.ok(MOVE, {"i": {"id": deal_id, "expectedVersion": d["deal"]["version"], "stageId": "won"}}))[
            "moveDealStage"
        ]
    )


def masked(body: dict, *pairs: tuple[str, str]) -> str:
    """The response's bytes with the values the partner itself sent (and its new id) replaced."""
    text = json.dumps(body, ensure_ascii=False, sort_keys=False)
    for value, mask in pairs:
        text = text.replace(value, mask)
    return text


# ---- 1. two partners, one end client ------------------------------------------------------------
async def test_conflicting_registration_goes_to_review_and_tells_the_partner_nothing(gw, crm, as_role):
    tier = await new_tier(gw)
    a_id, a = await new_partner(gw, as_role, "Bergen Resellers", tier)
    _b_id, b = await new_partner(gw, as_role, "Oslo Integrators", tier)
    tag = u()
    held = {
        "name": f"Nordfjord Hydro AS {tag}",
        "site": f"https://www.nordfjord-{tag}.no",
        "mail": f"ola@nordfjord-{tag}.no",
    }
    free = {"name": f"Sørvik Kraftlag AS {tag}", "site": f"https://www.sorvik-{tag}.no", "mail": f"ola@sorvik-{tag}.no"}

    def reg(client: dict, name: str | None = None) -> dict:
        return {
            "clientName": name or client["name"],
            "clientWebsite": client["site"],
            "clientEmail": client["mail"],
            "project": "Turbine hall refit",
            "estimatedValue": "250000.00",
            "currency": "EUR",
            "expectedClose": "2027-03-31",
        }

    first = ok((await a.ok(SUBMIT, {"i": reg(held)}))["submitDealRegistration"])["registration"]
    assert first["status"] == "UNDER_REVIEW" and first["expiresAt"] is None
    # partner B: the same client (another legal form, same domain) and a client nobody holds
    body_held = await b.body(SUBMIT, {"i": reg(held, f"NORDFJORD HYDRO {tag}")})
    body_free = await b.body(SUBMIT, {"i": reg(free, f"SØRVIK KRAFTLAG {tag}")})
    r_held = body_held["data"]["submitDealRegistration"]["registration"]
    r_free = body_free["data"]["submitDealRegistration"]["registration"]
    mask_held = [
        (r_held["id"], "ID"),
        (f"NORDFJORD HYDRO {tag}", "NAME"),
        (held["site"], "SITE"),
        (held["mail"], "MAIL"),
    ]
    mask_free = [
        (r_free["id"], "ID"),
        (f"SØRVIK KRAFTLAG {tag}", "NAME"),
        (free["site"], "SITE"),
        (free["mail"], "MAIL"),
    ]
    assert masked(body_held, *mask_held) == masked(body_free, *mask_free)
    assert r_held["status"] == "UNDER_REVIEW"

    # every later read by B: by id, in its list (with the staff-only conflict filter), the totals
    one = "query($id: ID!) { dealRegistration(id: $id) { %s } }" % REG_FIELDS
    assert masked(await b.body(one, {"id": r_held["id"]}), *mask_held) == masked(
        await b.body(one, {"id": r_free["id"]}), *mask_free
    )
    lst = "query($f: RegistrationFilter) { dealRegistrations(first: 10, filter: $f) { totalCount edges { node { id status } } } }"
    plain = await b.body(lst, {"f": None})
    assert plain["data"]["dealRegistrations"]["totalCount"] == 2
    assert await b.body(lst, {"f": {"conflict": True}}) == plain == await b.body(lst, {"f": {"conflict": False}})
    assert (await b.body(lst, {"f": {"partnerId": a_id}}))["data"]["dealRegistrations"]["totalCount"] == 0
    # A's registration is to B exactly what a made-up id is
    fake = "0" * len(first["id"])
    assert await b.body(one, {"id": first["id"]}) == await b.body(one, {"id": fake})
    # the review queue and the evidence are staff-only
    q = "{ registrationReviewQueue(first: 50) { totalCount edges { node { id partnerId conflicts { kind matchedOn partnerId registrationId } } } } }"
    assert codes(await b.body(q)) == ["FORBIDDEN"]
    assert codes(
        await b.body("query($id: ID!) { dealRegistration(id: $id) { conflicts { kind } } }", {"id": r_held["id"]})
    ) == ["FORBIDDEN"]

    queue = (await gw.ok(q))["registrationReviewQueue"]["edges"]
    mine = {e["node"]["id"]: e["node"] for e in queue}
    assert r_held["id"] in mine and r_free["id"] not in mine and first["id"] not in mine
    [evidence] = mine[r_held["id"]]["conflicts"]
    assert evidence["kind"] == "partner_registration" and evidence["partnerId"] == a_id
    assert evidence["registrationId"] == first["id"] and set(evidence["matchedOn"]) == {"name", "domain", "email"}
    # A learns nothing either: its registration reads the same as before B came
    again = (await a.ok(one, {"id": first["id"]}))["dealRegistration"]
    assert again == {k: first[k] for k in again}

    # a client of our own staff with an open deal: found by the e-mail domain of its contact
    d = await gw.ok(COMPANY, {"i": {"name": f"Kvitfjell Anlegg {tag}", "kind": "PROSPECT", "owner": "sales.anna"}})
    staff_client = d["createCompany"]["company"]["id"]
    await gw.ok(
        CONTACT,
        {
            "i": {
                "firstName": "Kari",
                "lastName": "Nordmann",
                "email": f"kari@kvitfjell-{tag}.no",
                "companyId": staff_client,
            }
        },
    )
    staff_deal = ok(
        await retry_ref(
            gw, DEAL, {"i": {"title": "Ski lift stations", "companyId": staff_client, "currency": "EUR"}}, "createDeal"
        )
    )["deal"]["id"]

    async def staff_conflict():  # retried until deals has the contact's e-mail from contacts' event
        r = ok(
            (
                await a.ok(
                    SUBMIT,
                    {"i": {"clientName": f"Kvitfjell Ski {u()}", "clientEmail": f"per@kvitfjell-{tag}.no",
                           "project": "Lift stations", "estimatedValue": "90000", "currency": "EUR"}},
                )
            )["submitDealRegistration"]
        )["registration"]  # fmt: skip
        assert r["status"] == "UNDER_REVIEW"
        node = await gw.ok(
            "query($id: ID!) { dealRegistration(id: $id) { conflicts { kind matchedOn dealIds owner companyId } } }",
            {"id": r["id"]},
        )
        ev = node["dealRegistration"]["conflicts"]
        assert ev, ev
        return ev

    ev = await eventually(staff_conflict)
    assert ev == [
        {
            "kind": "staff_deal",
            "matchedOn": ["domain"],
            "dealIds": [staff_deal],
            "owner": "test.admin",
            "companyId": staff_client,
        }
    ]


# ---- 2. approval, then expiry after the protection period ------------------------------------------
async def test_approval_gives_exclusivity_then_expiry_unless_won(gw, crm, as_role):
    _, other = await new_partner(gw, as_role, "Stavanger Build")
    pid, partner = await new_partner(gw, as_role, "Tromsø Partners")
    cid, deal_id = await partner_deal(gw, partner, "Harbour office", "120000.00")
    base = {"project": "Harbour office", "estimatedValue": "120000", "currency": "EUR"}
    lapsing = ok(
        (await partner.ok(SUBMIT, {"i": {**base, "clientName": f"Ishavet Fisk {u()}"}}))["submitDealRegistration"]
    )["registration"]
    winning = ok(
        (await partner.ok(SUBMIT, {"i": {**base, "clientName": f"Polar Harbour {u()}", "companyId": cid}}))[
            "submitDealRegistration"
        ]
    )["registration"]
    rejected = ok(
        (await partner.ok(SUBMIT, {"i": {**base, "clientName": f"Nowhere {u()}"}}))["submitDealRegistration"]
    )["registration"]

    # only partner managers decide; a rejection needs a reason
    assert codes(await partner.body(DECIDE, {"i": {"id": lapsing["id"], "approve": True}})) == ["FORBIDDEN"]
    d = (await gw.ok(DECIDE, {"i": {"id": rejected["id"], "approve": False}}))["decideDealRegistration"]
    assert d["errors"][0]["code"] == "INVALID" and d["errors"][0]["field"] == ["input", "reason"]
    d = ok(
        (await gw.ok(DECIDE, {"i": {"id": rejected["id"], "approve": False, "reason": "Outside your territory"}}))[
            "decideDealRegistration"
        ]
    )
    assert d["registration"]["status"] == "REJECTED"
    now = dt.datetime.now(dt.UTC)
    for r in (lapsing, winning):
        d = ok(
            (await gw.ok(DECIDE, {"i": {"id": r["id"], "approve": True, "expectedVersion": 1}}))[
                "decideDealRegistration"
            ]
        )
        expires = dt.datetime.fromisoformat(d["registration"]["expiresAt"].replace("Z", "+00:00"))
        assert d["registration"]["status"] == "APPROVED" and abs(
            (expires - now) - dt.timedelta(days=90)
        ) < dt.timedelta(minutes=5)
    d = (await gw.ok(DECIDE, {"i": {"id": lapsing["id"], "approve": False, "reason": "again"}}))[
        "decideDealRegistration"
    ]
    assert d["errors"][0]["code"] in ("INVALID", "CONFLICT")
    # the partner reads its decisions; another partner cannot decide or read them
    q = "query($id: ID!) { dealRegistration(id: $id) { status reason expiresAt } }"
    assert (await partner.ok(q, {"id": rejected["id"]}))["dealRegistration"]["reason"] == "Outside your territory"
    assert (await other.ok(q, {"id": lapsing["id"]}))["dealRegistration"] is None
    # staff see who holds which client
    holders = await gw.ok(
        "query($p: ID) { dealRegistrations(first: 10, filter: {status: APPROVED, partnerId: $p}) { totalCount edges { node { clientName partner { id name } } } } }",
        {"p": pid},
    )
    assert holders["dealRegistrations"]["totalCount"] == 2
    assert {e["node"]["partner"]["id"] for e in holders["dealRegistrations"]["edges"]} == {pid}
    assert all(
        e["node"]["partner"]["name"].startswith("Tromsø Partners") for e in holders["dealRegistrations"]["edges"]
    )

    # the client of `winning` is won before the period ends
    await win(gw, deal_id)

    async def won():
        r = (await partner.ok(q.replace("reason", "reason wonDealId"), {"id": winning["id"]}))["dealRegistration"]
        assert r["status"] == "WON" and r["wonDealId"] == deal_id, r
        return r

    await eventually(won)
    # the scheduler, 91 days on: the approved registration expires, the won one stays won
    later = (now + dt.timedelta(days=91)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    # the registration-expiry timer on these registrations only (the demo's and other tests' are theirs)
    sched = crm.services["deals"].scheduler
    timer = next(t for t in sched.timers if t.name == "registration-expiry")
    ids = [lapsing["id"], winning["id"], rejected["id"]]
    due = await crm.services["deals"].store.find_all(
        "registrations", {"$and": [timer.due(later), {"id": {"$in": ids}}]}
    )
    assert [d["id"] for d in due] == [lapsing["id"]]
    early = (now + dt.timedelta(days=89)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    assert [await sched.fire_one(timer, i, early) for i in ids] == [False, False, False]
    assert (await partner.ok(q, {"id": lapsing["id"]}))["dealRegistration"]["status"] == "APPROVED"
    assert [await sched.fire_one(timer, i, later) for i in ids] == [True, False, False]
    assert (await partner.ok(q, {"id": lapsing["id"]}))["dealRegistration"]["status"] == "EXPIRED"
    assert (await partner.ok(q, {"id": winning["id"]}))["dealRegistration"]["status"] == "WON"
    assert (await partner.ok(q, {"id": rejected["id"]}))["dealRegistration"]["status"] == "REJECTED"
    assert not await sched.fire_one(timer, lapsing["id"], later)  # fired once: no longer due


# ---- 3. programme, quotas and the tier review ------------------------------------------------------
async def test_programme_quota_progress_after_a_won_deal_and_tier_review(gw, crm, as_role):
    low = await new_tier(gw, rank=0, minRevenue="0", minDeals=0, maxDiscountPercent="5")
    high = await new_tier(gw, rank=1, minRevenue="40000", minDeals=1, minCertified=1, maxDiscountPercent="12")
    users = [{"sub": "kim@x", "portalRole": "manager", "certified": True}, {"sub": "lee@x", "portalRole": "viewer"}]
    pid, partner = await new_partner(
        gw, as_role, "Lillehammer Design", low, agreementStart="2026-01-01", agreementEnd=END,
        regions=["Innlandet", "Viken"], industries=["hydro"], users=users, reason="onboarding",
    )  # fmt: skip
    _, other = await new_partner(gw, as_role, "Other Partner", low)
    lagging_id, _ = await new_partner(gw, as_role, "Lagging Partner", high)
    year = str(dt.date.today().year)
    t = "mutation($i: SetTargetInput!) { setPartnerTarget(input: $i) { target { period revenuePercent } errors { code field } } }"
    ok(
        (
            await gw.ok(
                t, {"i": {"partnerId": pid, "period": year, "revenue": "100000", "deals": 4, "certifiedStaff": 2}}
            )
        )["setPartnerTarget"]
    )
    assert (await gw.ok(t, {"i": {"partnerId": pid, "period": "2026-13"}}))["setPartnerTarget"]["errors"][0][
        "code"
    ] == "INVALID"
    assert codes(await partner.body(t, {"i": {"partnerId": pid, "period": year}})) == ["FORBIDDEN"]

    # the partner sees its own tier and agreement, not the history or other partners' programmes
    prog_q = """query($id: ID) { partnerProgramme(companyId: $id) { companyId tier agreementStart agreementEnd regions industries
      users { sub portalRole certified } tierDetails { id maxDiscountPercent } } }"""
    mine = (await partner.ok(prog_q, {"id": None}))["partnerProgramme"]
    assert mine["tier"] == low and mine["agreementEnd"] == END and mine["regions"] == ["Innlandet", "Viken"]
    assert mine["tierDetails"] == {"id": low, "maxDiscountPercent": "5"}
    assert [x["sub"] for x in mine["users"]] == ["kim@x", "lee@x"]
    assert (await other.ok(prog_q, {"id": pid}))["partnerProgramme"] is None
    assert codes(await partner.body("{ partnerProgramme { tierHistory { toTier } } }")) == ["FORBIDDEN"]

    target_q = """query($p: ID) { partnerTargets(partnerId: $p) { period wonDeals certified revenuePercent dealsPercent
      certifiedPercent wonRevenue { amount } acceptedEstimates { amount } revenue { amount } } }"""
    [before] = (await partner.ok(target_q, {"p": None}))["partnerTargets"]
    assert before["wonDeals"] == 0 and before["certified"] == 1 and before["certifiedPercent"] == "50.0"
    _, deal_id = await partner_deal(gw, partner, "Ski jump hall", "50000.00")
    await win(gw, deal_id)
    [after] = (await partner.ok(target_q, {"p": None}))["partnerTargets"]
    assert after["wonDeals"] == 1 and after["wonRevenue"]["amount"] == "50000.00"
    assert after["revenuePercent"] == "50.0" and after["dealsPercent"] == "25.0"
    # another partner asking for these targets gets its own (none)
    assert (await other.ok(target_q, {"p": pid}))["partnerTargets"] == []

    review = (
        await gw.ok(
            "query($y: String!) { tierReview(period: $y) { partnerId tier standing qualifiesFor wonDeals wonRevenue { amount } } }",
            {"y": year},
        )
    )["tierReview"]
    row = next(r for r in review if r["partnerId"] == pid)
    # it qualifies for `high` (or another test's higher tier without thresholds: tiers are global)
    assert row["standing"] == "ABOVE" and row["qualifiesFor"] not in (None, low), row
    assert row == {**row, "tier": low, "wonDeals": 1, "wonRevenue": {"amount": "50000.00"}}
    assert next(r for r in review if r["partnerId"] == lagging_id)["standing"] == "BELOW"
    assert codes(await partner.body('{ tierReview(period: "2026") { partnerId } }')) == ["FORBIDDEN"]

    # the tier change is audited and kept in the programme's history
    ok(
        (await gw.ok(PROGRAMME, {"i": {"companyId": pid, "tier": high, "reason": "review " + year}}))[
            "savePartnerProgramme"
        ]
    )
    h = await gw.ok(
        "query($id: ID) { partnerProgramme(companyId: $id) { tier tierHistory { fromTier toTier by reason } } }",
        {"id": pid},
    )
    assert h["partnerProgramme"]["tierHistory"][0] == {
        "fromTier": low,
        "toTier": high,
        "by": "test.admin",
        "reason": "review " + year,
    }
    assert (await gw.ok(PROGRAMME, {"i": {"companyId": pid, "tier": "no-such-tier"}}))["savePartnerProgramme"][
        "errors"
    ][0]["code"] == "UNKNOWN_REFERENCE"
    bad = await gw.ok(
        PROGRAMME, {"i": {"companyId": pid, "agreementStart": "2027-01-01", "agreementEnd": "2026-01-01"}}
    )
    assert bad["savePartnerProgramme"]["errors"][0]["code"] == "INVALID"

    async def audited():
        log = await gw.ok(
            'query($id: ID) { auditLog(first: 50, filter: {entity: "PartnerProgramme", entityId: $id}) { edges { node { entityId changes } } } }',
            {"id": pid},
        )
        rows = [e["node"] for e in log["auditLog"]["edges"] if e["node"]["entityId"] == pid]
        assert any("tier" in json.dumps(r["changes"]) and high in json.dumps(r["changes"]) for r in rows), rows

    await eventually(audited)


# ---- 4. reports and the chain ----------------------------------------------------------------------
async def test_partner_reports_and_the_chain_with_tickets(gw, crm, as_role):
    pid, partner = await new_partner(gw, as_role, "Kristiansand Reseller")
    _, other = await new_partner(gw, as_role, "Another Reseller")
    cid, deal_id = await partner_deal(gw, partner, "Ferry quay design", "75000.00")
    await partner_deal(gw, partner, "Quay lighting", "5000.00")
    await win(gw, deal_id)
    reg = ok((await partner.ok(SUBMIT, {"i": {"clientName": "Quay client", "companyId": cid, "project": "Quay",
                                             "estimatedValue": "1", "currency": "EUR"}}))["submitDealRegistration"])["registration"]  # fmt: skip
    ok((await gw.ok(DECIDE, {"i": {"id": reg["id"], "approve": True}}))["decideDealRegistration"])
    t = """mutation($i: OpenTicketInput!) { openTicket(input: $i) { ticket { id } errors { code } } }"""
    ok(
        await retry_ref(
            gw, t, {"i": {"companyId": cid, "subject": "Quay drawings missing", "priority": "HIGH"}}, "openTicket"
        )
    )

    year = str(dt.date.today().year)
    rq = """query($y: String!, $p: ID) { partnerReport(period: $y, partnerId: $p) { partnerId openDeals wonDeals winRate
      pipeline { amount } revenueByMonth { month amount { amount } } registrations { status count } } }"""
    mine = (await partner.ok(rq, {"y": year, "p": None}))["partnerReport"]
    month = dt.date.today().strftime("%Y-%m")
    assert mine["partnerId"] == pid and mine["openDeals"] == 1 and mine["wonDeals"] == 1 and mine["winRate"] == "100.0"
    assert mine["pipeline"]["amount"] == "5000.00" and mine["registrations"] == [{"status": "APPROVED", "count": 1}]
    assert {"month": month, "amount": {"amount": "75000.00"}} in mine["revenueByMonth"]
    # another partner naming this one gets its own (empty) report
    theirs = (await other.ok(rq, {"y": year, "p": pid}))["partnerReport"]
    assert theirs["partnerId"] != pid and theirs["openDeals"] == 0 and theirs["registrations"] == []
    staff = (await gw.ok(rq, {"y": year, "p": pid}))["partnerReport"]
    assert staff == mine
    all_rows = (await gw.ok("query($y: String!) { partnerReports(period: $y) { partnerId wonDeals } }", {"y": year}))[
        "partnerReports"
    ]
    assert {"partnerId": pid, "wonDeals": 1} in all_rows

    chain_q = """query($p: ID) { partnerChain(partnerId: $p) { partner { name } soldBy deliveredBy
      bought { dealId title status amount { amount } } client { id name openTicketCount tickets(first: 5) { edges { node { subject } } } } } }"""

    async def chain():
        rows = (await gw.ok(chain_q, {"p": pid}))["partnerChain"]
        assert len(rows) == 2, rows
        row = next(r for r in rows if r["client"]["id"] == cid)
        assert row["client"]["openTicketCount"] == 1, row
        return row

    row = await eventually(chain)
    assert row["partner"]["name"].startswith("Kristiansand Reseller") and row["soldBy"] == f"user@{pid}"
    assert row["bought"] == [
        {"dealId": deal_id, "title": "Ferry quay design", "status": "WON", "amount": {"amount": "75000.00"}}
    ]
    assert row["client"]["tickets"]["edges"] == [{"node": {"subject": "Quay drawings missing"}}]
    assert codes(await partner.body(chain_q, {"p": pid})) == ["FORBIDDEN"]

    csv_q = "query($k: String!, $y: String!) { partnerExportCsv(kind: $k, period: $y) }"
    chain_csv = (await gw.ok(csv_q, {"k": "chain", "y": year}))["partnerExportCsv"]
    assert chain_csv.startswith(
        "partner_id,client_id,sold_by,delivered_by,deal_id,title,status,amount,currency,products\r\n"
    )
    assert f"{pid},{cid},user@{pid}," in chain_csv and "Ferry quay design,won,75000.00,EUR" in chain_csv
    mine_csv = (await partner.ok(csv_q, {"k": "report", "y": year}))["partnerExportCsv"]
    lines = mine_csv.strip().split("\r\n")
    assert len(lines) == 2 and lines[1].startswith(f"{pid},{year},EUR,1,5000.00,1,0,100.0")
    assert "PUBLIC" not in json.dumps(await partner.body(csv_q, {"k": "chain", "y": year}))
    assert (await partner.body(csv_q, {"k": "chain", "y": year}))["data"]["partnerExportCsv"] is None


# ---- 5. partners' client care: answers within the SLA, a breach escalates to us ---------------------
ALWAYS = [{"day": d, "start": "00:00", "end": "24:00"} for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")]
TICKETS = "{ tickets(first: 10) { totalCount edges { node { id subject } } } }"


async def test_partner_answers_its_clients_tickets_and_a_breach_escalates(gw, crm, as_role):
    from services.support import escalation

    pid, partner = await new_partner(gw, as_role, "Care Partner", supportEnabled=True)
    _, other = await new_partner(gw, as_role, "No-care Partner")
    d = await partner.ok(COMPANY, {"i": {"name": f"Cared client {u()}", "kind": "PROSPECT"}})
    cid = d["createCompany"]["company"]["id"]
    cal = ok((await gw.ok("mutation($i: SaveSlaCalendarInput!) { saveSlaCalendar(input: $i) { calendar { id } errors { code } } }",
                          {"i": {"name": f"always {u()}", "timeZone": "UTC", "hours": ALWAYS}}))["saveSlaCalendar"])["calendar"]["id"]  # fmt: skip
    targets = [{"priority": "NORMAL", "firstResponseMinutes": 60, "resolutionMinutes": 600}]
    pol = "mutation($i: SaveSlaPolicyInput!) { saveSlaPolicy(input: $i) { policy { id } errors { code message } } }"
    ok(
        await retry_ref(
            gw,
            pol,
            {"i": {"name": f"care {u()}", "companyId": cid, "calendarId": cal, "targets": targets}},
            "saveSlaPolicy",
        )
    )
    t = "mutation($i: OpenTicketInput!) { openTicket(input: $i) { ticket { id } errors { code } } }"
    answered = ok(await retry_ref(gw, t, {"i": {"companyId": cid, "subject": "Door closers squeak"}}, "openTicket"))[
        "ticket"
    ]["id"]
    missed = ok(await retry_ref(gw, t, {"i": {"companyId": cid, "subject": "Heating off"}}, "openTicket"))["ticket"][
        "id"
    ]

    async def partner_sees():
        d = (await partner.ok(TICKETS))["tickets"]
        assert d["totalCount"] == 2, d
        return d

    await eventually(partner_sees)  # the programme's flag reaches support by deals.partner.updated
    assert (await other.ok(TICKETS))["tickets"]["totalCount"] == 0
    assert (await other.ok("query($id: ID!) { ticket(id: $id) { id } }", {"id": answered}))["ticket"] is None
    c = "mutation($i: AddTicketCommentInput!) { addTicketComment(input: $i) { comment { id } errors { code } } }"
    ok((await partner.ok(c, {"i": {"ticketId": answered, "body": "A fitter comes on Monday."}}))["addTicketComment"])
    d = (await other.ok(c, {"i": {"ticketId": missed, "body": "hi"}}))["addTicketComment"]
    assert d["errors"][0]["code"] == "UNKNOWN_REFERENCE"

    # two hours on, the escalation timer on these two tickets only (others belong to other tests)
    sched = crm.services["support"].scheduler
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    for tid in (answered, missed):
        await sched.fire_one(escalation.timer(), tid, later)
    q = "query($id: ID!) { ticket(id: $id) { escalations { alarm } } }"
    assert [e["alarm"] for e in (await gw.ok(q, {"id": missed}))["ticket"]["escalations"]] == [
        "first_response.breached"
    ]
    assert (await gw.ok(q, {"id": answered}))["ticket"]["escalations"] == []
    report_q = (
        "{ partnerCareReport { partnerId tickets open firstResponseP50 breaches escalated responses satisfaction } }"
    )
    [row] = [r for r in (await gw.ok(report_q))["partnerCareReport"] if r["partnerId"] == pid]
    assert (
        row["tickets"] == 2 and row["breaches"] == 1 and row["escalated"] == 1 and row["firstResponseP50"] is not None
    )
    assert codes(await partner.body(report_q)) == ["FORBIDDEN"]

    async def timeline():  # the escalation reached our support: the notification to the account owner
        log = await gw.ok(
            "query($id: ID!) { company(id: $id) { timeline(first: 20) { edges { node { title } } } } }", {"id": cid}
        )
        titles = [e["node"]["title"] for e in log["company"]["timeline"]["edges"]]
        assert any("SLA breached" in x for x in titles), titles

    await eventually(timeline)
    # partner support switched off: the partner no longer sees its clients' tickets
    ok((await gw.ok(PROGRAMME, {"i": {"companyId": pid, "supportEnabled": False}}))["savePartnerProgramme"])

    async def hidden():
        assert (await partner.ok(TICKETS))["tickets"]["totalCount"] == 0

    await eventually(hidden)


# ---- 6. a standard configuration at the partner's tier prices --------------------------------------
async def test_partner_starts_an_estimate_from_a_bundle_at_its_tier_prices(gw, crm, as_role):
    tier = await new_tier(gw, rank=2, maxDiscountPercent="10")
    _pid, partner = await new_partner(gw, as_role, "Gold Fit-outs", tier)
    _, other = await new_partner(gw, as_role, "Silver Fit-outs")
    d = await gw.ok("{ products(first: 50) { edges { node { id sku } } } }")
    survey = next(e["node"]["id"] for e in d["products"]["edges"] if e["node"]["sku"] == "SURVEY")
    pl_q = """mutation($i: CreatePriceListInput!) { createPriceList(input: $i) { priceList { id } errors { code } } }"""
    for name, t, rate, price in (("General", None, "95.00", "5000.00"), ("Gold", tier, "80.00", "4000.00")):
        ok((await gw.ok(pl_q, {"i": {"name": f"{name} {tier}", "currency": "NOK", "partnerTier": t,
            "rates": [{"discipline": "architect", "rate": rate, "costRate": "41.00"}],
            "products": [{"productId": survey, "price": price}]}}))["createPriceList"])  # fmt: skip
    b = """mutation($i: SaveBundleInput!) { saveBundle(input: $i) { bundle { id name items { sku quantity } work { discipline hours } } errors { code field } } }"""
    bundle = ok((await gw.ok(b, {"i": {"name": f"Small office fit-out, concept to permits {tier}",
        "work": [{"stage": "Concept", "discipline": "Architect", "hours": "10"}],
        "items": [{"productId": survey, "stage": "survey", "quantity": "2"}]}}))["saveBundle"])["bundle"]  # fmt: skip
    assert bundle["items"] == [{"sku": "SURVEY", "quantity": "2"}]
    assert (await gw.ok(b, {"i": {"name": "empty"}}))["saveBundle"]["errors"][0]["code"] == "INVALID"
    assert codes(await partner.body(b, {"i": {"name": "mine"}})) == ["FORBIDDEN"]
    assert any(x["id"] == bundle["id"] for x in (await partner.ok("{ bundles { id } }"))["bundles"])

    d = await partner.ok(COMPANY, {"i": {"name": f"Office client {u()}", "kind": "PROSPECT"}})
    cid = d["createCompany"]["company"]["id"]
    deal_id = ok(
        await retry_ref(
            partner,
            DEAL,
            {"i": {"title": "Office fit-out", "companyId": cid, "amount": "1000.00", "currency": "NOK"}},
            "createDeal",
        )
    )["deal"]["id"]
    start = """mutation($i: EstimateFromBundleInput!) { startEstimateFromBundle(input: $i) {
      estimate { id status currency lines { kind stage rate { amount } amount { amount } } totals { subtotal { amount } discount { amount } total { amount } } }
      errors { code message field } } }"""
    too_much = await partner.ok(start, {"i": {"dealId": deal_id, "bundleId": bundle["id"], "discountPercent": "15"}})
    assert too_much["startEstimateFromBundle"]["errors"][0]["field"] == ["input", "discountPercent"]
    est = ok(
        (await partner.ok(start, {"i": {"dealId": deal_id, "bundleId": bundle["id"], "discountPercent": "10"}}))[
            "startEstimateFromBundle"
        ]
    )["estimate"]
    assert est["currency"] == "NOK" and est["status"] == "DRAFT"
    assert [(ln["stage"], ln["rate"]["amount"], ln["amount"]["amount"]) for ln in est["lines"]] == [
        ("concept", "80.00", "800.00"),
        ("survey", "4000.00", "8000.00"),
    ]  # the gold list, not the general one (95.00 / 5000.00)
    assert est["totals"]["subtotal"]["amount"] == "8800.00" and est["totals"]["total"]["amount"] == "7920.00"
    # internal cost rates stay hidden; another partner reaches neither the estimate nor the deal
    cost = await partner.body(
        "query($id: ID!) { estimate(id: $id) { lines { costRate { amount } } cost { amount } } }", {"id": est["id"]}
    )
    assert set(codes(cost)) == {"FORBIDDEN"}
    assert (await other.ok("query($id: ID!) { estimate(id: $id) { id } }", {"id": est["id"]}))["estimate"] is None
    d = (await other.ok(start, {"i": {"dealId": deal_id, "bundleId": bundle["id"]}}))["startEstimateFromBundle"]
    assert d["errors"][0]["code"] == "UNKNOWN_REFERENCE" and d["estimate"] is None
    # staff start from the same bundle at the general list
    est2 = ok((await gw.ok(start, {"i": {"dealId": deal_id, "bundleId": bundle["id"]}}))["startEstimateFromBundle"])[
        "estimate"
    ]
    assert [ln["rate"]["amount"] for ln in est2["lines"]] == ["95.00", "5000.00"]


# ---- 7. another partner's token against every partner-facing list, filter and total ----------------
async def test_another_partners_token_reaches_nothing(gw, crm, as_role):
    tier = await new_tier(gw)
    a_id, a = await new_partner(gw, as_role, "Alpha Partner", tier, supportEnabled=True)
    _, b = await new_partner(gw, as_role, "Beta Partner", tier)
    year = str(dt.date.today().year)
    r = ok(
        (
            await a.ok(
                SUBMIT,
                {"i": {"clientName": f"Alpha client {u()}", "project": "p", "estimatedValue": "10", "currency": "EUR"}},
            )
        )["submitDealRegistration"]
    )["registration"]
    await gw.ok(
        "mutation($i: SetTargetInput!) { setPartnerTarget(input: $i) { errors { code } } }",
        {"i": {"partnerId": a_id, "period": year, "deals": 3}},
    )
    _, deal_id = await partner_deal(gw, a, "Alpha deal", "10.00")
    checks = [
        ("query($id: ID) { partnerProgramme(companyId: $id) { tier } }", {"id": a_id}, lambda d: d["partnerProgramme"] is None),
        ("{ partnerProgrammes(first: 5) { totalCount } }", {}, None),
        ("query($id: ID!) { dealRegistration(id: $id) { id } }", {"id": r["id"]}, lambda d: d["dealRegistration"] is None),
        ("query($p: ID) { dealRegistrations(first: 5, filter: {partnerId: $p}) { totalCount edges { node { id } } } }", {"p": a_id},
         lambda d: d["dealRegistrations"]["totalCount"] == 0),
        ("{ dealRegistrations(first: 5, filter: {status: UNDER_REVIEW}) { totalCount } }", {}, lambda d: d["dealRegistrations"]["totalCount"] == 0),
        ("query($p: ID) { partnerTargets(partnerId: $p) { partnerId } }", {"p": a_id}, lambda d: d["partnerTargets"] == []),
        ('query($p: ID) { partnerReport(period: "%s", partnerId: $p) { partnerId openDeals registrations { count } } }' % year, {"p": a_id},
         lambda d: d["partnerReport"]["partnerId"] != a_id and d["partnerReport"]["openDeals"] == 0),
        ("query($id: ID!) { deal(id: $id) { id } }", {"id": deal_id}, lambda d: d["deal"] is None),
        ("{ deals(first: 5) { totalCount } }", {}, lambda d: d["deals"]["totalCount"] == 0),
        ('{ partnerExportCsv(kind: "report", period: "%s") }' % year, {}, lambda d: a_id not in d["partnerExportCsv"]),
    ]  # fmt: skip
    for query, variables, check in checks:
        body = await b.body(query, variables)
        if check is None:
            assert codes(body) == ["FORBIDDEN"], (query, body)
        else:
            assert not body.get("errors"), (query, body)
            assert check(body["data"]), (query, body)
    # _entities straight at the deals subgraph: A's deal as a reference is null for B; the new partner
    # types are not entities (no @key), so no representation reaches them
    url = f"http://{crm.host}:{crm.ports['deals']}/graphql"

    async with httpx.AsyncClient(timeout=30) as h:
        q = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Deal { id title } } }"
        res = await h.post(url, json={"query": q, "variables": {"r": [{"__typename": "Deal", "id": deal_id}]}},
                           headers={"authorization": b.http.headers["authorization"]})  # fmt: skip
        assert res.status_code == 200 and res.json()["data"]["_entities"] == [None], res.text
        res = await h.post(url, json={"query": q, "variables": {"r": [{"__typename": "DealRegistration", "id": r["id"]}]}},
                           headers={"authorization": b.http.headers["authorization"]})  # fmt: skip
        assert res.json().get("errors") and not (res.json().get("data") or {}).get("_entities"), res.text


async def test_the_readme_partner_example_works_with_a_partner_token(crm, as_role):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Partners as a channel", 1)[1]
    query = re.search(r"```graphql\n(.*?)```", section, re.S).group(1)
    data = await as_role("partner", "tom@kestrel", company=crm.ids["kestrel"]).ok(query)
    p = data["partnerProgramme"]
    assert p["tier"] == "silver" and p["tierDetails"] == {"name": "Silver", "maxDiscountPercent": "5"}
    assert p["company"] == {"name": "Kestrel Engineering"} and p["agreementEnd"] == agreement_end()
    assert p["regions"] == ["Rogaland", "Vestland"] and {u["sub"] for u in p["users"]} == {
        "tom@kestrel",
        "ines@kestrel",
    }
    regs = data["dealRegistrations"]
    assert regs["totalCount"] >= 1 and regs["edges"][-1]["node"]["clientName"] == "Solvik Timber AS"
    assert regs["edges"][-1]["node"]["status"] == "APPROVED"
    assert any(b["name"] == "Small office fit-out, concept to permits" for b in data["bundles"])
    assert data["partnerReport"]["registrations"] == [{"status": "APPROVED", "count": 1}]
    # the same document with another partner's token shows none of Kestrel's data
    other = await as_role("partner", "sigrid@fjord", company=crm.ids["fjord"]).ok(query)
    assert other["partnerProgramme"] is not None and other["dealRegistrations"]["totalCount"] == 0
    assert all(e["node"]["clientName"] != "Solvik Timber AS" for e in other["dealRegistrations"]["edges"])


# ---- 8. the duplicate rules and the territory ------------------------------------------------------
QUEUE = """{ registrationReviewQueue(first: 100) { edges { node { id
  conflicts { kind matchedOn rules partnerId registrationId } } } } }"""


async def queued(gw) -> dict:
    return {e["node"]["id"]: e["node"] for e in (await gw.ok(QUEUE))["registrationReviewQueue"]["edges"]}


async def test_a_similar_name_conflicts_by_the_duplicate_rules_and_tells_the_partner_nothing(gw, crm, as_role):
    tier = await new_tier(gw)
    a_id, a = await new_partner(gw, as_role, "Trondheim Resellers", tier)
    _, b = await new_partner(gw, as_role, "Bodø Integrators", tier)
    t = u()[:4]  # short: the words of the name decide its blocking keys, not the tag
    base = {"project": "Studio fit-out", "estimatedValue": "80000", "currency": "EUR", "expectedClose": "2027-06-30"}
    first = ok((await a.ok(SUBMIT, {"i": {**base, "clientName": f"Aurora Studio GmbH {t}"}}))["submitDealRegistration"])
    first = first["registration"]
    # B: one letter more and another legal form (no site, no e-mail: only the fuzzy name rule can
    # find it), and a client nobody holds
    held, free = f"Aurora Studios AS {t}", f"Lindqvist Arkitekter {t}"
    body_held = await b.body(SUBMIT, {"i": {**base, "clientName": held}})
    body_free = await b.body(SUBMIT, {"i": {**base, "clientName": free}})
    r_held = body_held["data"]["submitDealRegistration"]["registration"]
    r_free = body_free["data"]["submitDealRegistration"]["registration"]
    assert r_held["status"] == r_free["status"] == "UNDER_REVIEW"
    mask_held, mask_free = [(r_held["id"], "ID"), (held, "NAME")], [(r_free["id"], "ID"), (free, "NAME")]
    assert masked(body_held, *mask_held) == masked(body_free, *mask_free)
    one = "query($id: ID!) { dealRegistration(id: $id) { %s } }" % REG_FIELDS
    assert masked(await b.body(one, {"id": r_held["id"]}), *mask_held) == masked(
        await b.body(one, {"id": r_free["id"]}), *mask_free
    )
    # the evidence names the rule and its ratio; staff only
    mine = await queued(gw)
    assert r_held["id"] in mine and r_free["id"] not in mine
    [evidence] = mine[r_held["id"]]["conflicts"]
    assert evidence["kind"] == "partner_registration" and evidence["partnerId"] == a_id
    assert evidence["registrationId"] == first["id"] and evidence["matchedOn"] == ["name"]
    [rule] = evidence["rules"]
    assert rule.startswith("similar name (") and 85 <= int(rule.split("(")[1].rstrip("%)")) < 100, rule
    assert codes(await b.body(QUEUE)) == ["FORBIDDEN"]
    rules_q = "query($id: ID!) { dealRegistration(id: $id) { conflicts { rules } } }"
    assert codes(await b.body(rules_q, {"id": r_held["id"]})) == ["FORBIDDEN"]
    # the legal form alone is no difference: the same name
    c = ok((await b.ok(SUBMIT, {"i": {**base, "clientName": f"aurora-studio {t}"}}))["submitDealRegistration"])
    [ev] = (await gw.ok(rules_q, {"id": c["registration"]["id"]}))["dealRegistration"]["conflicts"]
    assert ev["rules"] == ["same name"]
    # the identifiers of the duplicate rules: the same phone (another spelling) and VAT number
    ids = {"clientPhone": "+47 55 12 34 56", "clientVatNumber": f"NO 9{t.encode().hex()[:8]} MVA"}
    ok((await a.ok(SUBMIT, {"i": {**base, "clientName": f"Fjellheim {t}", **ids}}))["submitDealRegistration"])
    d = ok(
        (
            await b.ok(
                SUBMIT,
                {"i": {**base, "clientName": f"Other name {t}", "clientPhone": "55 12 34 56", "clientCountry": "no",
                       "clientVatNumber": ids["clientVatNumber"].replace(" ", "").lower()}},
            )
        )["submitDealRegistration"]
    )["registration"]  # fmt: skip
    evs = (await gw.ok(rules_q, {"id": d["id"]}))["dealRegistration"]["conflicts"]
    assert {"same phone", "same VAT number"} <= {r for e in evs for r in e["rules"]}, evs
    # bad input is a typed error that writes nothing
    before = (await b.ok("{ dealRegistrations { totalCount } }"))["dealRegistrations"]["totalCount"]
    for bad, field in (({"clientPhone": "not a phone"}, "clientPhone"), ({"clientCountry": "Norway"}, "clientCountry")):
        e = (await b.ok(SUBMIT, {"i": {**base, "clientName": f"Bad {t}", **bad}}))["submitDealRegistration"]["errors"]
        assert e[0]["code"] == "INVALID" and e[0]["field"] == ["input", field], e
    assert (await b.ok("{ dealRegistrations { totalCount } }"))["dealRegistrations"]["totalCount"] == before


async def test_a_client_outside_the_territory_goes_to_review_and_the_agreement_dates_hold(gw, crm, as_role):
    territory = {"regions": ["Vestland", "Rogaland"], "industries": ["energy"]}
    pid, partner = await new_partner(gw, as_role, "Haugesund Energi Partner", **territory)
    t = u()
    base = {"project": "Substation", "estimatedValue": "50000", "currency": "EUR"}
    inside, outside = f"Sunnhordland Kraft {t}", f"Finnmark Fisk {t}"
    body_in = await partner.body(
        SUBMIT, {"i": {**base, "clientName": inside, "clientRegion": "vestland", "clientIndustry": "Energy"}}
    )
    body_out = await partner.body(
        SUBMIT, {"i": {**base, "clientName": outside, "clientRegion": "Finnmark", "clientIndustry": "Energy"}}
    )
    r_in = body_in["data"]["submitDealRegistration"]["registration"]
    r_out = body_out["data"]["submitDealRegistration"]["registration"]
    # the partner sees "under review" either way, byte for byte
    assert masked(body_in, (r_in["id"], "ID"), (inside, "NAME")) == masked(
        body_out, (r_out["id"], "ID"), (outside, "NAME")
    )
    assert r_out["status"] == "UNDER_REVIEW"
    # a client it registered, outside by what is known of it (its industry, from contacts)
    d = await partner.ok(COMPANY, {"i": {"name": f"Tromsø Retail {t}", "kind": "PROSPECT", "industry": "retail"}})
    cid = d["createCompany"]["company"]["id"]
    known = ok(
        await retry_ref(
            partner,
            SUBMIT,
            {"i": {**base, "clientName": f"Tromsø Retail {t}", "companyId": cid, "clientRegion": "Rogaland"}},
            "submitDealRegistration",
        )
    )["registration"]
    mine = await queued(gw)
    assert r_in["id"] not in mine
    assert mine[r_out["id"]]["conflicts"] == [
        {
            "kind": "outside_territory",
            "matchedOn": ["region"],
            "rules": ["outside territory: Finnmark not in Rogaland, Vestland"],
            "partnerId": None,
            "registrationId": None,
        }
    ]
    [ev] = mine[known["id"]]["conflicts"]
    assert ev["matchedOn"] == ["industry"] and ev["rules"] == ["outside territory: industry retail not in energy"]
    # staff filter on it as on a conflict; the partner's filter is ignored
    f = "query($f: RegistrationFilter) { dealRegistrations(first: 50, filter: $f) { edges { node { id } } } }"
    flagged = {e["node"]["id"] for e in (await gw.ok(f, {"f": {"partnerId": pid, "conflict": True}}))["dealRegistrations"]["edges"]}  # fmt: skip
    assert flagged == {r_out["id"], known["id"]}
    assert await partner.body(f, {"f": {"conflict": True}}) == await partner.body(f, {"f": {"conflict": False}})

    # outside the agreement's dates a registration is refused and nothing is written
    ended = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    later = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    for start, end, word in (("2020-01-01", ended, "ended"), (later, None, "starts")):
        _, p2 = await new_partner(gw, as_role, "Lapsed Partner", agreementStart=start, agreementEnd=end)
        e = (await p2.ok(SUBMIT, {"i": {**base, "clientName": f"Any {t}"}}))["submitDealRegistration"]
        assert e["registration"] is None and e["errors"][0]["code"] == "INVALID" and word in e["errors"][0]["message"]
        assert (await p2.ok("{ dealRegistrations { totalCount } }"))["dealRegistrations"]["totalCount"] == 0
