"""The manager's day through the real gateway, on both legs (docs/day.md): a web-form lead assigned
by the rule, qualified and converted (a retry creates nothing twice, the timeline tells the story);
a planned meeting on the timeline, then held; a birthday reminder in the notification list and by
SMTP; the reminder scheduler across a restart and with two instances; tiers after wins and the
24-month window; activity control for a seeded team; the hand-over of 1,000 companies, stopped
half-way and re-run; partners and customers."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest

from services.common.envelope import Envelope
from services.common.ids import iso
from services.common.scheduler import Scheduler
from services.contacts import day_events, handover
from tests.gateway.conftest import audit_rows, eventually, settings_of


def uid() -> str:
    return uuid.uuid4().hex[:8]


async def call(client, query: str, variables: dict, key: str) -> dict:
    data = await client.ok(query, variables)
    payload = data[key]
    assert not payload.get("errors"), payload["errors"]
    return payload


RULE = (
    "mutation($i: AssignmentRuleInput!) { saveAssignmentRule(input: $i) { rule { id team } errors { code message } } }"
)
LEADS = """query($f: LeadFilter) { leads(first: 50, filter: $f) { totalCount edges { node {
  id status source owner ruleId firstName lastName companyName email formId campaignId utm consent score hot
  bant { budget authority need timing } version companyId contactId dealId disqualifyReason } } } }"""
UPDATE_LEAD = "mutation($i: UpdateLeadInput!) { updateLead(input: $i) { lead { id status score version } errors { code message } } }"
SET_STATUS = "mutation($i: SetLeadStatusInput!) { setLeadStatus(input: $i) { lead { id status version disqualifyReason } errors { code message } } }"
CONVERT = """mutation($i: ConvertLeadInput!) { convertLead(input: $i) {
  lead { id status companyId contactId dealId } company { id name owner } contact { id email } dealId
  errors { code message } } }"""
TIMELINE = """query($id: ID!) { company(id: $id) { timeline(first: 50) { edges { node { kind title status by ref_id: refId } } } } }"""
CREATE_ACTIVITY = "mutation($i: CreateActivityInput!) { createActivity(input: $i) { activity { id status version owner } errors { code message } } }"
UPDATE_ACTIVITY = "mutation($i: UpdateActivityInput!) { updateActivity(input: $i) { activity { id status version heldAt } errors { code message } } }"
CREATE_COMPANY = (
    "mutation($i: CreateCompanyInput!) { createCompany(input: $i) { company { id } errors { code message } } }"
)
CREATE_CONTACT = (
    "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id } errors { code message } } }"
)


def web_lead(form: str, region: str, n: int) -> dict:
    return {
        "source": "web_form",
        "campaign_id": None,
        "form_id": form,
        "company_id": None,
        "contact_id": None,
        "company_name": f"Aurora Studio {n} {form}",
        "first_name": "Maja",
        "last_name": f"Berg{n}",
        "email": f"maja{n}.{form}@aurora.test",
        "phone": "+47 555 0100",
        "notes": "Wants a turnkey office fit-out",
        "utm": {"source": "google", "medium": "cpc", "campaign": "fitout"},
        "referrer": "https://example.test/ads",
        "consent": True,
        "region": region,
    }


async def test_web_form_lead_assigned_qualified_and_converted(crm, gw, as_role):
    region, form = f"R-{uid()}", f"form-{uid()}"
    team = [f"sales.web1.{region}", f"sales.web2.{region}"]
    await call(
        gw,
        RULE,
        {"i": {"name": "Web leads", "team": team, "region": region, "source": "WEB_FORM"}},
        "saveAssignmentRule",
    )
    subjects = [f"lead-{uid()}", f"lead-{uid()}"]
    for n, s in enumerate(subjects):
        await crm.bus.publish(Envelope("marketing.lead.requested", s, web_lead(form, region, n)))
    await crm.bus.publish(Envelope("marketing.lead.requested", subjects[0], web_lead(form, region, 0)))  # a replay

    async def both():
        data = await gw.ok(LEADS, {"f": {"formId": form}})
        # the page and the total are two reads; a lead landing between them shows in one only
        assert data["leads"]["totalCount"] == 2 and len(data["leads"]["edges"]) == 2
        return {e["node"]["id"]: e["node"] for e in data["leads"]["edges"]}

    leads = await eventually(both)
    assert sorted(leads) == sorted(subjects)
    first = leads[subjects[0]]
    assert {leads[s]["owner"] for s in subjects} == set(team)  # round robin within the team
    assert first["status"] == "NEW" and first["source"] == "WEB_FORM" and first["consent"] is True
    assert first["utm"]["campaign"] == "fitout" and first["ruleId"]

    owner = as_role("sales", first["owner"])
    lead = await call(
        owner,
        UPDATE_LEAD,
        {
            "i": {
                "id": first["id"],
                "expectedVersion": first["version"],
                "bant": {"budget": True, "authority": True, "need": True, "timing": True},
            }
        },
        "updateLead",
    )
    assert lead["lead"]["status"] == "WORKING" and lead["lead"]["score"] == 100
    q = await call(
        owner,
        SET_STATUS,
        {"i": {"id": first["id"], "expectedVersion": lead["lead"]["version"], "status": "QUALIFIED"}},
        "setLeadStatus",
    )
    assert q["lead"]["status"] == "QUALIFIED"
    conv = {"id": first["id"], "dealTitle": "Office fit-out", "amount": "120000", "currency": "EUR"}
    one = await call(owner, CONVERT, {"i": conv}, "convertLead")
    again = await call(owner, CONVERT, {"i": conv}, "convertLead")  # a retry creates nothing twice
    assert one["lead"]["status"] == "CONVERTED"
    assert (one["company"]["id"], one["contact"]["id"], one["dealId"]) == (
        again["company"]["id"],
        again["contact"]["id"],
        again["dealId"],
    )
    assert one["company"]["owner"] == first["owner"]
    company_id = one["company"]["id"]
    n = await gw.ok(
        "query($n: String!) { companies(filter: {name: $n}) { totalCount } }", {"n": f"Aurora Studio 0 {form}"}
    )
    assert n["companies"]["totalCount"] == 1

    async def deal_opened():
        data = await gw.ok(
            "query($id: ID!) { company(id: $id) { deals(first: 5) { totalCount edges { node { id title owner } } } } }",
            {"id": company_id},
        )
        deals = data["company"]["deals"]
        assert deals["totalCount"] == 1 and [e["node"]["id"] for e in deals["edges"]] == [one["dealId"]], deals
        return deals

    deals = await eventually(deal_opened)
    assert deals["edges"][0]["node"]["owner"] == first["owner"]

    async def story():
        data = await gw.ok(TIMELINE, {"id": company_id})
        titles = [e["node"]["title"] for e in data["company"]["timeline"]["edges"]]
        for want in (
            "Lead received (web form)",
            "Lead qualified",
            "Lead converted",
            "Company created",
            "Contact added",
            "Deal opened",
        ):
            assert any(t.startswith(want) for t in titles), (want, titles)
        return titles

    await eventually(story)
    # a disqualification needs a reason from the managed list
    second = leads[subjects[1]]
    owner2 = as_role("sales", second["owner"])
    bad = await owner2.ok(
        SET_STATUS,
        {"i": {"id": second["id"], "expectedVersion": second["version"], "status": "DISQUALIFIED", "reason": "meh"}},
    )
    assert bad["setLeadStatus"]["errors"][0]["code"] == "INVALID"
    ok = await call(
        owner2,
        SET_STATUS,
        {
            "i": {
                "id": second["id"],
                "expectedVersion": second["version"],
                "status": "DISQUALIFIED",
                "reason": "No budget",
            }
        },
        "setLeadStatus",
    )
    assert ok["lead"]["disqualifyReason"] == "No budget"


async def _company(gw, name: str, owner: str = "sales.anna", kind: str = "CLIENT") -> str:
    p = await call(gw, CREATE_COMPANY, {"i": {"name": name, "kind": kind, "owner": owner}}, "createCompany")
    return p["company"]["id"]


async def test_planned_meeting_appears_planned_then_held(crm, gw, as_role):
    company = await _company(gw, f"Meeting Co {uid()}")
    anna = as_role("sales", "sales.anna")
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    a = (
        await call(
            anna,
            CREATE_ACTIVITY,
            {
                "i": {
                    "kind": "MEETING",
                    "title": "Site visit",
                    "companyId": company,
                    "startAt": start.isoformat(),
                    "endAt": (start + dt.timedelta(hours=1)).isoformat(),
                    "place": "Bergen office",
                    "attendeeStaff": ["sales.anna", "eng.bo"],
                }
            },
            "createActivity",
        )
    )["activity"]

    async def row(status):
        data = await gw.ok(TIMELINE, {"id": company})
        rows = [e["node"] for e in data["company"]["timeline"]["edges"] if e["node"]["ref_id"] == a["id"]]
        assert len(rows) == 1 and rows[0]["status"] == status, rows
        return rows[0]

    planned = await eventually(lambda: row("planned"))
    assert planned["title"] == "Meeting (planned): Site visit" and planned["by"] == "sales.anna"
    held = await call(
        anna,
        UPDATE_ACTIVITY,
        {"i": {"id": a["id"], "expectedVersion": a["version"], "status": "HELD", "outcome": "Brief agreed"}},
        "updateActivity",
    )
    assert held["activity"]["heldAt"]
    row_held = await eventually(lambda: row("held"))
    assert row_held["title"] == "Meeting (held): Site visit"
    # a meeting without a start is refused, nothing is created
    bad = await anna.ok(CREATE_ACTIVITY, {"i": {"kind": "MEETING", "title": "x", "companyId": company}})
    assert bad["createActivity"]["errors"][0]["code"] == "INVALID"


PERSONAL = "mutation($i: AddPersonalDateInput!) { addPersonalDate(input: $i) { personalDate { id remindAt owner } errors { code message } } }"
NOTES = "query { myNotifications(first: 50) { totalCount edges { node { id kind title read refId } } } }"


async def test_birthday_reminder_lands_in_notifications_and_by_smtp(crm, gw, as_role, smtp_server):
    sub = f"manager.{uid()}@vendor.test"
    company = await _company(gw, f"Birthday Co {uid()}", owner=sub)
    contact = await call(
        gw,
        CREATE_CONTACT,
        {"i": {"firstName": "Ingrid", "lastName": "Dahl", "companyId": company, "owner": sub}},
        "createContact",
    )
    pd = (
        await call(
            gw,
            PERSONAL,
            {
                "i": {
                    "contactId": contact["contact"]["id"],
                    "kind": "CHILD_BIRTHDAY",
                    "month": 2,
                    "day": 29,
                    "label": "Emma (daughter)",
                }
            },
            "addPersonalDate",
        )
    )["personalDate"]
    assert pd["owner"] == sub and pd["remindAt"][5:10] in ("02-28", "02-29")
    svc = crm.services["contacts"]
    with settings_of(crm, ["contacts"], smtp_url=smtp_server.url):
        fired = await Scheduler(svc.store, svc.timers()).run_once(now=iso(dt.datetime.fromisoformat(pd["remindAt"])))
        assert fired >= 1
        me = as_role("sales", sub)

        async def landed():
            data = await me.ok(NOTES)
            rows = [e["node"] for e in data["myNotifications"]["edges"]]
            assert len(rows) == 1 and rows[0]["title"] == "Child's birthday: Emma (daughter) (Ingrid Dahl)", rows
            return rows[0]

        note = await eventually(landed)
        await smtp_server.wait_for(1, 20)
    msgs = [m for m in smtp_server.messages if m["To"] == sub]
    assert len(msgs) == 1 and msgs[0]["Subject"] == note["title"]
    marked = await me.ok("mutation { markNotificationsRead(input: {}) { marked errors { code } } }")
    assert marked["markNotificationsRead"]["marked"] == 1
    unread = await me.ok("query { myNotifications(unreadOnly: true) { totalCount } }")
    assert unread["myNotifications"]["totalCount"] == 0
    # another user sees none of it
    other = as_role("sales", "sales.someone.else")
    assert (await other.ok("query { myNotifications(first: 50) { edges { node { id } } } }"))["myNotifications"][
        "edges"
    ] == [] or all(e["node"]["id"] != note["id"] for e in (await other.ok(NOTES))["myNotifications"]["edges"])


REMIND = "mutation($i: CreateReminderInput!) { createReminder(input: $i) { reminder { id remindAt } errors { code message } } }"


async def test_reminders_across_a_restart_and_two_instances(crm, as_role):
    sub = f"remind.{uid()}"
    me = as_role("sales", sub)
    base = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    for n in range(12):
        await call(
            me,
            REMIND,
            {"i": {"title": f"Follow up {n}", "remindAt": (base + dt.timedelta(minutes=n)).isoformat()}},
            "createReminder",
        )
    # half fire, then the service restarts (a stop and a start of contacts) with the rest still due
    svc = crm.services["contacts"]
    first = await Scheduler(svc.store, svc.timers()).run_once(now=iso(base + dt.timedelta(minutes=5, seconds=30)))
    assert first == 6
    await crm.stop_service("contacts")
    await crm.start_service("contacts")
    svc = crm.services["contacts"]
    # two instances poll at the same time over the same store: each due reminder fires once
    later = iso(base + dt.timedelta(hours=1))
    a, b = Scheduler(svc.store, svc.timers()), Scheduler(svc.store, svc.timers())
    counts = await asyncio.gather(a.run_once(now=later), b.run_once(now=later), a.run_once(now=later))
    assert sum(counts) == 6
    me = as_role("sales", sub)

    async def all_twelve():
        data = await me.ok(NOTES)
        titles = sorted(e["node"]["title"] for e in data["myNotifications"]["edges"])
        assert titles == sorted(f"Follow up {n}" for n in range(12)), titles
        return titles

    await eventually(all_twelve)
    await crm.settle(120)
    data = await me.ok(NOTES)
    assert data["myNotifications"]["totalCount"] == 12  # none doubled


DEAL = "mutation($i: CreateDealInput!) { createDeal(input: $i) { deal { id version } errors { code message } } }"
MOVE = "mutation($i: MoveDealStageInput!) { moveDealStage(input: $i) { deal { id version status } errors { code message } } }"
TIER = "query($id: ID!) { company(id: $id) { tier } }"


async def _won_deal(client, crm, company: str, amount: str, owner: str = "sales.anna") -> str:
    async def create():
        return await call(
            client,
            DEAL,
            {
                "i": {
                    "title": f"Deal {uid()}",
                    "companyId": company,
                    "amount": amount,
                    "currency": "EUR",
                    "owner": owner,
                }
            },
            "createDeal",
        )

    d = (await eventually(create))["deal"]
    await call(client, MOVE, {"i": {"id": d["id"], "expectedVersion": d["version"], "stageId": "won"}}, "moveDealStage")
    return d["id"]


async def test_tiers_after_wins_and_the_24_month_window(crm, gw):
    thresholds = "mutation($i: TierThresholdsInput!) { setTierThresholds(input: $i) { thresholds { currency aMin { amount } } errors { code message } } }"
    await call(gw, thresholds, {"i": {"currency": "EUR", "aMin": "100000", "bMin": "10000"}}, "setTierThresholds")
    company = await _company(gw, f"Tier Co {uid()}")
    await crm.settle(120)

    async def tier_is(want):
        data = await gw.ok(TIER, {"id": company})
        assert data["company"]["tier"] == want, data
        return want

    assert (await gw.ok(TIER, {"id": company}))["company"]["tier"] is None
    await _won_deal(gw, crm, company, "20000")
    await eventually(lambda: tier_is("B"))
    await _won_deal(gw, crm, company, "90000")
    await eventually(lambda: tier_is("A"))
    filtered = await gw.ok("{ companies(first: 100, filter: {tier: A}) { edges { node { id tier } } } }")
    assert company in [e["node"]["id"] for e in filtered["companies"]["edges"]]
    # 24 months and a day later both wins have left the window: the window timer drops the tier
    svc = crm.services["contacts"]
    later = iso(dt.datetime.now(dt.UTC) + dt.timedelta(days=2 * 366 + 2))
    await Scheduler(svc.store, svc.timers()).run_once(now=later)
    await eventually(lambda: tier_is(None))


CONTROL = """query($from: DateTime!, $to: DateTime!) { activityControl(from: $from, to: $to) {
  owner callsPlanned callsHeld meetingsPlanned meetingsHeld leadsWorked dealsMoved dealsWon revenueWon { amount currency } neglectedAccounts } }"""


async def test_activity_control_for_a_seeded_team(crm, gw, as_role):
    t = uid()
    a_sub, b_sub = f"team.a.{t}", f"team.b.{t}"
    a, b = as_role("sales", a_sub), as_role("sales", b_sub)
    company = await _company(gw, f"Control Co {t}", owner=a_sub)
    quiet = await _company(gw, f"Quiet Co {t}", owner=b_sub)
    del quiet
    now = dt.datetime.now(dt.UTC)
    for who, kind, status in [
        (a, "CALL", "HELD"),
        (a, "CALL", "PLANNED"),
        (a, "MEETING", "HELD"),
        (b, "CALL", "NOT_HELD"),
    ]:
        await call(
            who,
            CREATE_ACTIVITY,
            {"i": {"kind": kind, "title": "t", "status": status, "companyId": company, "startAt": now.isoformat()}},
            "createActivity",
        )
    lead = await call(
        a,
        "mutation($i: CreateLeadInput!) { createLead(input: $i) { lead { id version } errors { code message } } }",
        {"i": {"source": "REFERRAL", "lastName": f"Ref {t}", "owner": a_sub}},
        "createLead",
    )
    await call(
        a,
        SET_STATUS,
        {"i": {"id": lead["lead"]["id"], "expectedVersion": lead["lead"]["version"], "status": "WORKING"}},
        "setLeadStatus",
    )
    await _won_deal(a, crm, company, "5000", owner=a_sub)
    await crm.settle(120)
    period = {"from": (now - dt.timedelta(hours=1)).isoformat(), "to": (now + dt.timedelta(hours=1)).isoformat()}

    async def rows():
        data = await gw.ok(CONTROL, period)
        got = {r["owner"]: r for r in data["activityControl"] if r["owner"] in (a_sub, b_sub)}
        assert got[a_sub]["dealsWon"] == 1, got
        return got

    got = await eventually(rows)
    ra, rb = got[a_sub], got[b_sub]
    assert (ra["callsPlanned"], ra["callsHeld"], ra["meetingsPlanned"], ra["meetingsHeld"]) == (2, 1, 1, 1)
    assert (ra["leadsWorked"], ra["dealsMoved"], ra["dealsWon"]) == (1, 1, 1)
    assert ra["revenueWon"] == [{"amount": "5000.00", "currency": "EUR"}]
    assert (rb["callsPlanned"], rb["callsHeld"]) == (1, 0)
    # a salesperson sees their own row only
    mine = await b.ok(CONTROL, period)
    assert [r["owner"] for r in mine["activityControl"]] == [b_sub]


MY_DAY = """query { myDay(notContactedDays: 30) { date overdue { id title } dueToday { id title } reminders { id }
  dealsWithoutNextStep { id title } newLeads { id } hotLeads { id } notContacted { id name } notContactedDays } }"""


async def test_my_day(crm, gw, as_role):
    t = uid()
    sub = f"myday.{t}"
    me = as_role("sales", sub)
    company = await _company(gw, f"MyDay Co {t}", owner=sub)
    now = dt.datetime.now(dt.UTC)
    yesterday, later = now - dt.timedelta(days=1), now + dt.timedelta(minutes=1)
    if later.date() != now.date():
        later = now
    await call(
        me,
        CREATE_ACTIVITY,
        {"i": {"kind": "TASK", "title": "Send drawings", "companyId": company, "dueAt": yesterday.isoformat()}},
        "createActivity",
    )
    deal_a = await eventually(
        lambda: call(
            me,
            DEAL,
            {"i": {"title": "Planned step", "companyId": company, "amount": "10", "currency": "EUR"}},
            "createDeal",
        )
    )
    deal_b = await call(
        me,
        DEAL,
        {"i": {"title": "No next step", "companyId": company, "amount": "10", "currency": "EUR"}},
        "createDeal",
    )
    await call(
        me,
        CREATE_ACTIVITY,
        {
            "i": {
                "kind": "CALL",
                "title": "Call back",
                "dealId": deal_a["deal"]["id"],
                "companyId": company,
                "startAt": later.isoformat(),
            }
        },
        "createActivity",
    )
    await call(
        me,
        "mutation($i: CreateLeadInput!) { createLead(input: $i) { lead { id } errors { code message } } }",
        {"i": {"source": "EVENT", "lastName": f"Expo {t}", "owner": sub}},
        "createLead",
    )
    await crm.settle(120)

    async def ready():
        d = (await me.ok(MY_DAY))["myDay"]
        assert [x["title"] for x in d["dealsWithoutNextStep"]] == ["No next step"], d
        return d

    d = await eventually(ready)
    assert [x["title"] for x in d["overdue"]] == ["Send drawings"]
    assert "Call back" in [x["title"] for x in d["overdue"] + d["dueToday"]]
    assert len(d["newLeads"]) == 1 and d["notContactedDays"] == 30
    assert [c["name"] for c in d["notContacted"]] == [f"MyDay Co {t}"]
    del deal_b


async def test_partner_works_its_leads_and_customers_see_none(crm, as_role):
    ids = crm.ids
    kestrel = as_role("partner", "tom@kestrel", company=ids["kestrel"])
    fjord = as_role("partner", "sigrid@fjord", company=ids["fjord"])
    customer = as_role("customer", "mats@nordhaven", company=ids["nordhaven"], contact=ids["mats"])
    t = uid()
    p = await call(
        kestrel,
        "mutation($i: CreateLeadInput!) { createLead(input: $i) { lead { id source owner partnerId } errors { code message } } }",
        {"i": {"source": "REFERRAL", "lastName": f"Partner lead {t}", "companyId": ids["kestrel_client"]}},
        "createLead",
    )
    assert p["lead"]["source"] == "PARTNER" and p["lead"]["partnerId"] == ids["kestrel"]
    mine = await kestrel.ok(LEADS, {"f": None})
    assert p["lead"]["id"] in [e["node"]["id"] for e in mine["leads"]["edges"]]
    theirs = await fjord.ok("query($id: ID!) { lead(id: $id) { id } }", {"id": p["lead"]["id"]})
    assert theirs["lead"] is None
    other = await fjord.ok(LEADS, {"f": None})
    assert p["lead"]["id"] not in [e["node"]["id"] for e in other["leads"]["edges"]]
    act = await kestrel.ok(
        CREATE_ACTIVITY,
        {"i": {"kind": "CALL", "title": "x", "companyId": ids["fjord_client"], "dueAt": "2030-01-01T00:00:00Z"}},
    )
    assert act["createActivity"]["errors"][0]["code"] == "UNKNOWN_REFERENCE"  # another partner's company
    body = await customer.body("{ leads(first: 1) { totalCount } }")
    assert body["data"]["leads"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


TRANSFER = """mutation($i: TransferBookInput!) { transferBook(input: $i) { job { id state total done } errors { code message } } }"""
JOB = "query($id: ID!) { transferJob(id: $id) { id state total done moved { service entity count } } }"


@pytest.mark.timeout(1800)  # a hang guard: on a loaded machine FerretDB moves ~1 company/s
async def test_transfer_book_of_1000_companies_killed_half_way_and_rerun(crm, gw, as_role):
    t = uid()
    old, new = f"leaver.{t}", f"heir.{t}"
    svc = crm.services["contacts"]
    store = svc.store
    from services.contacts import events as cevents

    ids = []
    for n in range(1000):
        # seeded straight into contacts' store; the 20 that get deals with their events (outbox), so
        # that deals knows them (the hand-over itself publishes every company's change)
        body = {
            "id": f"xfer-{t}-{n:04d}",
            "name": f"Book {t} {n:04d}",
            "name_key": f"book {t} {n:04d}",
            "kind": "client",
            "owner": old,
        }
        evs = [cevents.company_created({**body, "version": 1})] if n % 50 == 0 else []
        await store.insert("companies", body, events=evs)
        ids.append(body["id"])
    await crm.settle(120)
    leaver = as_role("sales", old)
    deal_ids = []
    for n in range(0, 1000, 50):  # 20 open deals and 20 planned activities, spread over the book
        d = await eventually(
            lambda n=n: call(
                leaver,
                DEAL,
                {"i": {"title": f"Open {n}", "companyId": ids[n], "amount": "1000", "currency": "EUR"}},
                "createDeal",
            )
        )
        deal_ids.append(d["deal"]["id"])
        await call(
            leaver,
            CREATE_ACTIVITY,
            {"i": {"kind": "CALL", "title": f"Planned {n}", "companyId": ids[n], "dueAt": "2031-01-01T00:00:00Z"}},
            "createActivity",
        )
    held = await call(
        leaver,
        CREATE_ACTIVITY,
        {
            "i": {
                "kind": "CALL",
                "title": "Past call",
                "status": "HELD",
                "companyId": ids[0],
                "startAt": "2026-01-01T00:00:00Z",
            }
        },
        "createActivity",
    )
    await crm.settle(60)
    need = await gw.ok(
        "query($u: String!) { handoverNeeded(user: $u) { companies openDeals openActivities needed } }", {"u": old}
    )
    assert need["handoverNeeded"] == {"companies": 1000, "openDeals": 20, "openActivities": 20, "needed": True}

    handover.BATCH = 10
    real_batch = handover._batch

    async def held_batch(store, job, batch):
        # the batches after the 300th company wait here until the service is stopped, so the
        # stop lands half-way whatever the machine's speed (a service's graceful stop first lets
        # its open requests finish, and a fast job could end meanwhile)
        if int(job["done"]) >= 300:
            await asyncio.Event().wait()
        await real_batch(store, job, batch)

    handover._batch = held_batch
    try:
        inp = {"i": {"fromOwner": old, "toOwner": new}}
        job = (await call(gw, TRANSFER, inp, "transferBook"))["job"]
        assert job["total"] == 1000
        # stop the contacts service half-way through the job (its task dies with it)
        while True:
            doc = await store.get("transfer_jobs", job["id"])
            if doc["done"] >= 300:
                break
            await asyncio.sleep(0.01)
        await crm.stop_service("contacts")
        handover._batch = real_batch
        assert doc["done"] == 300, doc["done"]
        await crm.start_service("contacts")
        again = (await call(gw, TRANSFER, inp, "transferBook"))["job"]  # the same command, re-run: the same job
        assert again["id"] == job["id"]

        async def done():
            data = await gw.ok(JOB, {"id": job["id"]})
            j = data["transferJob"]
            moved = {f"{m['service']}.{m['entity']}": m["count"] for m in j["moved"]}
            assert j["state"] == "done" and moved.get("deals.deals") == 20, j
            return j, moved

        j, moved = await eventually(done, timeout=1200)
    finally:
        handover.BATCH = 50
        handover._batch = real_batch
    assert j["done"] == 1000
    assert moved == {"contacts.companies": 1000, "contacts.activities": 20, "deals.deals": 20}
    store = crm.services["contacts"].store
    assert await store.count("companies", {"owner": old}) == 0
    assert await store.count("companies", {"owner": new, "id": {"$in": ids}}) == 1000
    heir = as_role("sales", new)
    deals = await heir.ok('query { deals(first: 100, filter: {owner: "%s"}) { totalCount } }' % new)
    assert deals["deals"]["totalCount"] == 20
    # history keeps the old owner: the held call, and the timeline's "Deal opened" rows
    past = await gw.ok("query($id: ID!) { activity(id: $id) { owner } }", {"id": held["activity"]["id"]})
    assert past["activity"]["owner"] == old
    tl = await gw.ok(TIMELINE, {"id": ids[0]})
    opened = [e["node"] for e in tl["company"]["timeline"]["edges"] if e["node"]["title"].startswith("Deal opened")]
    assert opened and all(r["by"] == old for r in opened)

    # one audited operation, with its item count (the audit row arrives by event: eventually)
    async def audited():
        rows = await audit_rows(gw, job["id"], "BookTransfer")
        assert len(rows) == 1, rows
        return rows[0]

    audit = await eventually(audited, timeout=120)
    assert audit["changes"]["companies"]["to"] == 1000
    need = await gw.ok(
        "query($u: String!) { handoverNeeded(user: $u) { companies openDeals openActivities needed } }", {"u": old}
    )
    assert need["handoverNeeded"] == {"companies": 0, "openDeals": 0, "openActivities": 0, "needed": False}


async def test_notification_requested_by_another_service(crm, as_role):
    sub = f"owner.{uid()}"
    e = Envelope(
        "deals.notification.requested",
        f"overdue-{uid()}",
        {
            "recipients": [sub],
            "title": "Payment overdue",
            "body": "Stage 2",
            "ref_type": "Deal",
            "ref_id": "d1",
            "company_id": None,
            "kind": "payment_overdue",
        },
    )
    await crm.bus.publish(e)
    await crm.bus.publish(e)  # a redelivery makes one notification
    me = as_role("sales", sub)

    async def one():
        data = await me.ok(NOTES)
        assert [x["node"]["kind"] for x in data["myNotifications"]["edges"]] == ["payment_overdue"]

    await eventually(one)
    await crm.settle(120)
    assert (await me.ok(NOTES))["myNotifications"]["totalCount"] == 1
    assert day_events.mail_address("a@b.test") == "a@b.test"
