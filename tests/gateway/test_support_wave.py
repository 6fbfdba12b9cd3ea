"""Support as a business line through the real gateway, on both legs (embedded; FerretDB + RabbitMQ):
SLA edge cases on a fixed calendar, escalation fired once across a restart and two scheduler
instances, an e-mail thread through a real inbound SMTP endpoint (aiosmtpd) with an auto-reply and
a staff reply out by SMTP, a low satisfaction score reopening the conversation, a customer finding
an article (deflection), and a remark raised on revision B resolved in revision C."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import uuid

import aiosmtplib
import httpx
import pytest

from devtools.stack import free_port
from services.common.ids import iso
from services.common.mail import make_message
from services.common.scheduler import Scheduler
from services.support import mail as support_mail

from .conftest import eventually, settings_of

BERLIN_WEEK = [{"day": d, "start": "09:00", "end": "17:00"} for d in ("mon", "tue", "wed", "thu", "fri")]
ALWAYS = [{"day": d, "start": "00:00", "end": "24:00"} for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")]

SAVE_CALENDAR = """mutation($i: SaveSlaCalendarInput!) { saveSlaCalendar(input: $i) {
  calendar { id name timeZone holidays hours { day start end } } errors { code message field } } }"""
SAVE_POLICY = """mutation($i: SaveSlaPolicyInput!) { saveSlaPolicy(input: $i) {
  policy { id name } errors { code message field } } }"""
CREATE_COMPANY = (
    """mutation($i: CreateCompanyInput!) { createCompany(input: $i) { company { id } errors { message } } }"""
)
CREATE_CONTACT = (
    """mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id } errors { message } } }"""
)
OPEN = """mutation($i: OpenTicketInput!) { openTicket(input: $i) {
  ticket { id version status priority accountOwner } errors { code message field } } }"""
COMMENT = """mutation($i: AddTicketCommentInput!) { addTicketComment(input: $i) {
  comment { id } ticket { id version } errors { code message } } }"""
OPEN_AS_CUSTOMER = """mutation($i: OpenTicketInput!) { openTicket(input: $i) {
  ticket { id version status } errors { code message field } } }"""
STATUS = """mutation($i: SetTicketStatusInput!) { setTicketStatus(input: $i) {
  ticket { id version status } errors { code message } } }"""
RESOLVE = """mutation($i: ResolveTicketInput!) { resolveTicket(input: $i) {
  ticket { id version status surveyUrl } errors { code message field } } }"""
SLA = """query($id: ID!, $at: DateTime) { ticket(id: $id) { id version status priority queueId firstResponseAt
  sla(at: $at) { policyName calendarName timeZone
    firstResponse { dueAt warnAt metAt paused breached remainingMinutes }
    resolution { dueAt warnAt metAt paused breached remainingMinutes } }
  escalations { alarm notified raisedTo movedTo } } }"""


def z(d: dt.datetime) -> str:
    return d.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def berlin(*a) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime(*a, tzinfo=ZoneInfo("Europe/Berlin"))


def ts(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


async def mutate(client, query: str, inp: dict, key: str) -> dict:
    data = await client.ok(query, {"i": inp})
    payload = data[key]
    assert payload["errors"] == [], payload["errors"]
    return payload


async def new_client_company(crm, gw, name: str, *, email: str | None = None) -> tuple[str, str]:
    """A company (owned by sales.anna) and a contact, once support's replicas have them."""
    company = (
        await mutate(gw, CREATE_COMPANY, {"name": name, "kind": "CLIENT", "owner": "sales.anna"}, "createCompany")
    )["company"]["id"]
    contact = (
        await mutate(
            gw,
            CREATE_CONTACT,
            {"firstName": "Kari", "lastName": name.split()[0], "email": email, "companyId": company},
            "createContact",
        )
    )["contact"]["id"]

    async def replicated():
        svc = crm.services["support"]
        assert await svc.store.get("ref_companies", company) is not None
        assert await svc.store.get("ref_contacts", contact) is not None

    await eventually(replicated)
    return company, contact


async def policy_for(gw, company: str, hours: list, targets: list, **extra) -> str:
    cal = await mutate(
        gw,
        SAVE_CALENDAR,
        {"name": f"cal {company[-6:]}", "timeZone": "Europe/Berlin", "hours": hours, "holidays": ["2026-05-01"]},
        "saveSlaCalendar",
    )
    return (
        await mutate(
            gw,
            SAVE_POLICY,
            {
                "name": f"contract {company[-6:]}",
                "companyId": company,
                "calendarId": cal["calendar"]["id"],
                "targets": targets,
                **extra,
            },
            "saveSlaPolicy",
        )
    )["policy"]["id"]


# ---- 1. SLA edge cases on a fixed calendar ---------------------------------------------------------
async def test_sla_edge_cases_on_a_fixed_calendar(crm, gw, as_role):
    company, contact = await new_client_company(crm, gw, f"Edge Cases {uuid.uuid4().hex[:6]}")
    await policy_for(
        gw,
        company,
        BERLIN_WEEK,
        [{"priority": "NORMAL", "firstResponseMinutes": 60, "resolutionMinutes": 240}],
        warnPercent=75,
    )

    async def opened(received: dt.datetime) -> dict:
        p = await mutate(
            gw,
            OPEN,
            {"companyId": company, "contactId": contact, "subject": "Edge", "receivedAt": z(received)},
            "openTicket",
        )
        return p["ticket"]

    async def sla(ticket_id: str, at: dt.datetime) -> dict:
        return (await gw.ok(SLA, {"id": ticket_id, "at": z(at)}))["ticket"]

    # opened outside business hours (Tuesday 22:00): the clocks start at Wednesday's opening
    night = await opened(berlin(2026, 3, 3, 22))
    s = (await sla(night["id"], berlin(2026, 3, 4, 8)))["sla"]
    assert s["calendarName"].startswith("cal ") and s["timeZone"] == "Europe/Berlin"
    assert ts(s["firstResponse"]["dueAt"]) == berlin(2026, 3, 4, 10)
    assert ts(s["resolution"]["dueAt"]) == berlin(2026, 3, 4, 13)
    assert s["firstResponse"]["remainingMinutes"] == 60 and not s["firstResponse"]["breached"]
    s = (await sla(night["id"], berlin(2026, 3, 4, 10, 30)))["sla"]
    assert s["firstResponse"]["breached"] and s["firstResponse"]["remainingMinutes"] == -30

    # a deadline spanning a holiday (Friday 1 May): Thursday 15:00 + 4 h → Monday 11:00
    holiday = await opened(berlin(2026, 4, 30, 15))
    s = (await sla(holiday["id"], berlin(2026, 4, 30, 15)))["sla"]
    assert ts(s["resolution"]["dueAt"]) == berlin(2026, 5, 4, 11)

    # a DST change (Berlin to summer time on 29 March): Friday 16:00 + 4 h → Monday 12:00 CEST (10:00 UTC)
    dst = await opened(berlin(2026, 3, 27, 16))
    s = (await sla(dst["id"], berlin(2026, 3, 27, 16)))["sla"]
    assert ts(s["resolution"]["dueAt"]) == dt.datetime(2026, 3, 30, 10, tzinfo=dt.UTC)

    # waiting on the customer pauses the resolution clock (not the first response)
    now = dt.datetime.now(dt.UTC)
    live = await opened(now - dt.timedelta(minutes=5))
    t = (
        await mutate(
            gw, STATUS, {"id": live["id"], "expectedVersion": live["version"], "status": "WAITING"}, "setTicketStatus"
        )
    )["ticket"]
    s = (await sla(live["id"], now + dt.timedelta(days=30)))["sla"]
    assert s["resolution"]["paused"] and s["resolution"]["dueAt"] is None and not s["resolution"]["breached"]
    assert s["firstResponse"]["paused"] is False

    # a reply restarts nothing it should not: the first public staff reply is the first response,
    # later replies (staff, customer, internal) never move it, and the customer's answer resumes the clock
    staff = as_role("support", "support.sam")
    await mutate(
        staff, COMMENT, {"ticketId": live["id"], "body": "Internal: checking", "internal": True}, "addTicketComment"
    )
    assert (await sla(live["id"], now))["firstResponseAt"] is None  # an internal note is no answer
    await mutate(staff, COMMENT, {"ticketId": live["id"], "body": "We are on it."}, "addTicketComment")
    first = (await sla(live["id"], now))["firstResponseAt"]
    assert first is not None
    customer = as_role("customer", "kari@edge", company=company, contact=contact)
    await mutate(customer, COMMENT, {"ticketId": live["id"], "body": "Here are the files."}, "addTicketComment")
    await mutate(staff, COMMENT, {"ticketId": live["id"], "body": "Thanks, looking."}, "addTicketComment")
    after = await sla(live["id"], now + dt.timedelta(days=30))
    assert after["firstResponseAt"] == first
    assert after["status"] == "OPEN" and after["sla"]["resolution"]["paused"] is False
    assert ts(after["sla"]["firstResponse"]["metAt"]) == ts(first)
    assert t["status"] == "WAITING"


# ---- 2. escalation: once, across a restart and two scheduler instances ------------------------------
async def test_breach_warned_and_escalated_once_across_restart_and_two_schedulers(crm, gw, as_role):
    company, contact = await new_client_company(crm, gw, f"Escalation {uuid.uuid4().hex[:6]}")
    queue = (
        await mutate(
            gw,
            "mutation($i: SaveSupportQueueInput!) { saveSupportQueue(input: $i) { queue { id } errors { message } } }",
            {"name": f"Escalated {company[-6:]}", "discipline": "structural"},
            "saveSupportQueue",
        )
    )["queue"]["id"]
    await policy_for(
        gw,
        company,
        ALWAYS,
        [{"priority": "NORMAL", "firstResponseMinutes": 60, "resolutionMinutes": 120}],
        warnPercent=50,
        escalation={"notify": ["owner", "account_manager"], "raisePriority": True, "queueId": queue},
    )
    start = dt.datetime.now(dt.UTC)
    ticket = (
        await mutate(gw, OPEN, {"companyId": company, "contactId": contact, "subject": "Roof leak"}, "openTicket")
    )["ticket"]
    assert ticket["accountOwner"] == "sales.anna"

    def schedulers(n: int) -> list[Scheduler]:
        svc = crm.services["support"]
        return [Scheduler(svc.store, svc.timers()) for _ in range(n)]

    # 40 min: the first-response warning (50 % of 60 min), by two replicas at once → once
    at = iso(start + dt.timedelta(minutes=40))
    fired = await asyncio.gather(*(s.run_once(now=at) for s in schedulers(2)))
    assert sum(fired) >= 1
    # a restart of the service, then both replicas again at the same time and later
    await crm.stop_service("support")
    try:
        await crm.start_service("support")
    finally:
        if "support" not in crm.services:
            await crm.start_service("support")
    for s in schedulers(2):
        await s.run_once(now=at)
    late = iso(start + dt.timedelta(hours=3))
    await asyncio.gather(*(s.run_once(now=late) for s in schedulers(2)))
    await asyncio.gather(*(s.run_once(now=late) for s in schedulers(2)))

    t = (await gw.ok(SLA, {"id": ticket["id"], "at": late}))["ticket"]
    alarms = [e["alarm"] for e in t["escalations"]]
    # the resolution warning was overtaken by its breach: it does not fire late
    assert alarms == ["first_response.warning", "first_response.breached", "resolution.breached"]
    assert "sales.anna" in t["escalations"][0]["notified"]  # the account manager (and the assignee)
    assert t["priority"] == "CRITICAL"  # raised once per breach: normal → high → critical
    assert [e["raisedTo"] for e in t["escalations"]] == [None, "high", "critical"]
    assert t["queueId"] == queue and t["escalations"][1]["movedTo"] == queue
    assert t["sla"]["firstResponse"]["breached"] and t["sla"]["resolution"]["breached"]

    # on the client's timeline: one row per warning/breach/escalation
    timeline = """query($id: ID!) { company(id: $id) { timeline(first: 50) { edges { node { title } } } } }"""

    async def on_timeline():
        rows = [e["node"]["title"] for e in (await gw.ok(timeline, {"id": company}))["company"]["timeline"]["edges"]]
        assert sum(r.startswith("SLA at risk: Roof leak") for r in rows) == 1, rows
        assert sum(r.startswith("SLA breached: Roof leak") for r in rows) == 2, rows
        assert sum(r.startswith("Ticket escalated: Roof leak") for r in rows) == 2, rows

    await eventually(on_timeline)

    # an agent's reply stops the first-response escalation: a fresh ticket answered in time never escalates
    answered = (await mutate(gw, OPEN, {"companyId": company, "contactId": contact, "subject": "Door"}, "openTicket"))[
        "ticket"
    ]
    staff = as_role("support", "support.sam")
    await mutate(staff, COMMENT, {"ticketId": answered["id"], "body": "On it"}, "addTicketComment")
    for s in schedulers(2):
        await s.run_once(now=iso(start + dt.timedelta(minutes=59)))
    t = (await gw.ok(SLA, {"id": answered["id"], "at": None}))["ticket"]
    assert [e["alarm"] for e in t["escalations"]] == []


# ---- 3. e-mail to ticket -----------------------------------------------------------------------
@pytest.fixture
async def inbound(crm):
    port = free_port()
    os.environ["TURNKEY_INBOUND_SMTP"] = f"127.0.0.1:{port}"
    try:
        server = await support_mail.start_inbound(crm.services["support"])
    finally:
        del os.environ["TURNKEY_INBOUND_SMTP"]
    yield port
    server.close()
    await server.wait_closed()


async def send(port: int, msg) -> None:
    await aiosmtplib.send(msg, hostname="127.0.0.1", port=port)


async def test_email_thread_makes_one_ticket_with_two_comments_and_no_loop(crm, gw, inbound, smtp_server):
    email = f"kari.{uuid.uuid4().hex[:6]}@mail.example"
    company, contact = await new_client_company(crm, gw, f"Mail {uuid.uuid4().hex[:6]}", email=email)
    first = make_message(sender=f"Kari <{email}>", to="support@turnkey.test", subject="Plotter jams", text="It jams.")
    first.add_attachment(b"%PDF-1.4 tiny", maintype="application", subtype="pdf", filename="photo.pdf")
    await send(inbound, first)
    second = make_message(
        sender=email,
        to="support@turnkey.test",
        subject="Re: Plotter jams",
        text="Still jams.",
        headers={"In-Reply-To": first["Message-ID"], "References": first["Message-ID"]},
    )
    await send(inbound, second)
    auto = make_message(
        sender=email,
        to="support@turnkey.test",
        subject="Automatic reply: Plotter jams",
        text="I am away.",
        headers={"In-Reply-To": second["Message-ID"], "Auto-Submitted": "auto-replied"},
    )
    await send(inbound, auto)
    third = make_message(
        sender=email,
        to="support@turnkey.test",
        subject="Re: Plotter jams",
        text="Now it smokes.",
        headers={"In-Reply-To": second["Message-ID"], "References": f"{first['Message-ID']} {second['Message-ID']}"},
    )
    await send(inbound, third)
    await send(inbound, third)  # a redelivery changes nothing

    q = """query($c: ID!) { tickets(first: 10, filter: { companyId: $c }) { totalCount edges { node {
      id version subject channel contactId attachments { filename contentType size stored }
      comments { totalCount edges { node { body authorRole attachments { filename } } } } } } } }"""
    data = (await gw.ok(q, {"c": company}))["tickets"]
    assert data["totalCount"] == 1
    ticket = data["edges"][0]["node"]
    assert ticket["subject"] == "Plotter jams" and ticket["channel"] == "email" and ticket["contactId"] == contact
    assert [e["node"]["body"] for e in ticket["comments"]["edges"]] == ["Still jams.", "Now it smokes."]
    svc = crm.services["support"]
    files = (await svc.store.find("attachments", {"ticket_id": ticket["id"]})).items
    assert [(f["filename"], f["size"], f["stored"]) for f in files] == [("photo.pdf", 13, True)]
    assert ticket["attachments"] == [
        {"filename": "photo.pdf", "contentType": "application/pdf", "size": 13, "stored": True}
    ]
    assert [e["node"]["attachments"] for e in ticket["comments"]["edges"]] == [[], []]

    # a staff reply goes out by SMTP with the thread headers, and the customer's answer threads back
    with settings_of(crm, ["support"], smtp_url=smtp_server.url, mail_from="Support <support@turnkey.test>"):
        await mutate(gw, COMMENT, {"ticketId": ticket["id"], "body": "A technician is coming."}, "addTicketComment")
    [out] = await smtp_server.wait_for(1)
    assert out["To"] == email and out["In-Reply-To"] == third["Message-ID"]
    assert first["Message-ID"] in out["References"] and third["Message-ID"] in out["References"]
    assert f"[#{ticket['id']}]" in out["Subject"]
    answer = make_message(
        sender=email,
        to="support@turnkey.test",
        subject=out["Subject"],
        text="Thanks!",
        headers={"In-Reply-To": out["Message-ID"]},
    )
    await send(inbound, answer)
    data = (await gw.ok(q, {"c": company}))["tickets"]
    assert data["totalCount"] == 1 and data["edges"][0]["node"]["comments"]["totalCount"] == 4
    await asyncio.sleep(0.3)
    assert len(smtp_server.messages) == 1  # nothing answered the auto-reply: no loop

    # an unknown sender lands in the triage queue, without a company
    stranger = make_message(sender="who@nowhere.example", to="support@turnkey.test", subject="Hello?", text="Hi")
    await send(inbound, stranger)
    found = (await svc.store.find("tickets", {"requester_email": "who@nowhere.example"})).items
    assert len(found) == 1 and found[0]["company_id"] is None


# ---- 4. satisfaction -----------------------------------------------------------------------------
async def test_a_low_satisfaction_score_reopens_the_conversation(crm, gw):
    company, contact = await new_client_company(crm, gw, f"Survey {uuid.uuid4().hex[:6]}")
    t = (await mutate(gw, OPEN, {"companyId": company, "contactId": contact, "subject": "Slow render"}, "openTicket"))[
        "ticket"
    ]
    r = (
        await mutate(
            gw, RESOLVE, {"id": t["id"], "expectedVersion": t["version"], "resolution": "Restarted"}, "resolveTicket"
        )
    )["ticket"]
    assert r["status"] == "RESOLVED" and "/s/" in r["surveyUrl"]
    token = r["surveyUrl"].rsplit("/s/", 1)[1]
    base = crm.service_url("support").removesuffix("/graphql")
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{base}/s/{token}")).status_code == 200
        assert (await http.post(f"{base}/s/{token}x", data={"score": "1"})).status_code == 404  # tampered
        assert (await http.post(f"{base}/s/{token}", data={"score": "9"})).status_code == 400
        ok = await http.post(f"{base}/s/{token}", data={"score": "1", "comment": "Still slow"})
        assert ok.status_code == 200
        assert (await http.post(f"{base}/s/{token}", data={"score": "5"})).status_code == 409  # answered once
    t = (await gw.ok(SLA, {"id": t["id"], "at": None}))["ticket"]
    assert t["status"] == "OPEN"
    rows = (await gw.ok("{ satisfaction(by: CLIENT) { key responses average low } }"))["satisfaction"]
    assert {"key": company, "responses": 1, "average": 1.0, "low": 1} in rows


# ---- 5. knowledge base and deflection ---------------------------------------------------------------
async def test_a_customer_finds_an_article_and_the_deflection_is_counted(crm, gw, as_role):
    word = f"kalibrering{uuid.uuid4().hex[:5]}"
    save = """mutation($i: SaveKbArticleInput!) { saveKbArticle(input: $i) { article { id version number } errors { message } } }"""
    publish = """mutation($i: PublishKbArticleInput!) { publishKbArticle(input: $i) { article { id status } errors { message } } }"""
    a = (
        await mutate(
            gw,
            save,
            {
                "title": f"Plotter {word} — Révision des têtes",
                "body": "Étapes…",
                "category": "hardware",
                "visibility": "public",
            },
            "saveKbArticle",
        )
    )["article"]
    a = (
        await mutate(
            gw,
            save,
            {
                "id": a["id"],
                "expectedVersion": a["version"],
                "title": f"Plotter {word} — Révision des têtes",
                "body": "Étapes, version 2",
                "category": "hardware",
                "visibility": "public",
            },
            "saveKbArticle",
        )
    )["article"]
    assert a["number"] == 2
    internal = (
        await mutate(
            gw, save, {"title": f"{word} internal trick", "body": "x", "visibility": "internal"}, "saveKbArticle"
        )
    )["article"]
    await mutate(gw, publish, {"id": internal["id"], "expectedVersion": internal["version"]}, "publishKbArticle")
    customer = as_role("customer", "mats@nordhaven", company=crm.ids["nordhaven"], contact=crm.ids["mats"])
    search = """query($q: String!) { searchKb(query: $q) { searchId articles { id title body } } }"""
    before = (await gw.ok("{ kbDeflection { searches withTicket deflected } }"))["kbDeflection"]

    r = (await customer.ok(search, {"q": f"{word.upper()} REVISION"}))["searchKb"]
    assert r["articles"] == []  # a draft is not published yet
    await mutate(gw, publish, {"id": a["id"], "expectedVersion": a["version"]}, "publishKbArticle")
    r = (await customer.ok(search, {"q": f"{word.upper()} revisión tete"}))["searchKb"]
    assert [x["id"] for x in r["articles"]] == [a["id"]]  # the internal one stays hidden
    assert (await customer.ok("query($id: ID!) { kbArticle(id: $id) { id } }", {"id": internal["id"]}))[
        "kbArticle"
    ] is None
    # a second search that ends in a ticket opened from the article
    r2 = (await customer.ok(search, {"q": word}))["searchKb"]
    await mutate(
        customer,
        OPEN_AS_CUSTOMER,
        {
            "companyId": crm.ids["nordhaven"],
            "subject": "Still broken",
            "articleId": a["id"],
            "searchId": r2["searchId"],
        },
        "openTicket",
    )
    after = (await gw.ok("{ kbDeflection { searches withTicket deflected } }"))["kbDeflection"]
    assert after["searches"] - before["searches"] == 3
    assert after["withTicket"] - before["withTicket"] == 1
    assert after["deflected"] - before["deflected"] == 2


# ---- 6. remarks on deliverables ---------------------------------------------------------------------
async def test_a_remark_raised_on_revision_b_is_resolved_in_revision_c(crm, gw, as_role):
    nordhaven = crm.ids["nordhaven"]
    d = await mutate(
        gw,
        """mutation($i: CreateDeliverableInput!) { createDeliverable(input: $i) {
        deliverable { id } errors { message } } }""",
        {"companyId": nordhaven, "title": "Structural drawings", "kind": "drawing_set", "code": "ST-100"},
        "createDeliverable",
    )
    did = d["deliverable"]["id"]
    issue = """mutation($i: IssueRevisionInput!) { issueRevision(input: $i) { revision { id label } errors { code message } } }"""
    revs = {}
    for label, day in (("A", "2026-01-10"), ("B", "2026-02-10"), ("C", "2026-03-10")):
        revs[label] = (
            await mutate(gw, issue, {"deliverableId": did, "label": label, "issuedOn": day}, "issueRevision")
        )["revision"]["id"]
    dup = (await gw.ok(issue, {"i": {"deliverableId": did, "label": "B", "issuedOn": "2026-04-01"}}))["issueRevision"]
    assert dup["errors"][0]["code"] == "DUPLICATE"
    customer = as_role("customer", "mats@nordhaven", company=nordhaven, contact=crm.ids["mats"])
    remark = (
        await mutate(
            customer,
            OPEN_AS_CUSTOMER,
            {"companyId": nordhaven, "subject": "Beam B-12 clashes with duct", "revisionId": revs["B"]},
            "openTicket",
        )
    )["ticket"]
    remarks_q = """query($id: ID!) { deliverable(id: $id) { title remarks { revision { label }
        open resolved { ticketId resolvedInLabel } } } }"""
    rows = (await customer.ok(remarks_q, {"id": did}))["deliverable"]["remarks"]
    assert [(r["revision"]["label"], r["open"]) for r in rows] == [("A", []), ("B", [remark["id"]]), ("C", [])]
    bad = (
        await gw.ok(
            RESOLVE,
            {
                "i": {
                    "id": remark["id"],
                    "expectedVersion": remark["version"],
                    "resolution": "x",
                    "resolvedInRevisionId": revs["A"],
                }
            },
        )
    )["resolveTicket"]
    assert bad["errors"] and bad["errors"][0]["field"] == ["input", "resolvedInRevisionId"]
    await mutate(
        gw,
        RESOLVE,
        {
            "id": remark["id"],
            "expectedVersion": remark["version"],
            "resolution": "Duct moved",
            "resolvedInRevisionId": revs["C"],
        },
        "resolveTicket",
    )
    rows = (await customer.ok(remarks_q, {"id": did}))["deliverable"]["remarks"]
    b = rows[1]
    assert b["open"] == [] and b["resolved"] == [{"ticketId": remark["id"], "resolvedInLabel": "C"}]
    # another company's customer sees nothing of it
    other = as_role("customer", "anna@baltic", company=crm.ids["baltic"], contact=crm.ids["anna"])
    assert (await other.ok(remarks_q, {"id": did}))["deliverable"] is None


# ---- 9. security: partners and internal notes --------------------------------------------------------
async def test_partners_see_their_clients_tickets_only_when_enabled(crm, gw, as_role):
    svc = crm.services["support"]
    registered = (await svc.store.find("ref_companies", {"partner_id": crm.ids["kestrel"]}, first=5)).items
    assert registered, "the demo's partner registers a company"
    await mutate(gw, OPEN, {"companyId": registered[0]["id"], "subject": "Partner's client asks"}, "openTicket")
    partner = as_role("partner", "tom@kestrel", company=crm.ids["kestrel"])
    q = "{ tickets(first: 50) { totalCount edges { node { id companyId } } } }"
    svc.partner_support = frozenset()
    assert (await partner.ok(q))["tickets"]["totalCount"] == 0
    svc.partner_support = frozenset({crm.ids["kestrel"]})
    try:
        tickets = (await partner.ok(q))["tickets"]
        mine = {d["id"] for d in (await svc.store.find("tickets", {"partner_id": crm.ids["kestrel"]}, first=500)).items}
        assert mine and {e["node"]["id"] for e in tickets["edges"]} == mine
        assert all(e["node"]["companyId"] != crm.ids["nordhaven"] for e in tickets["edges"])
        assert (await partner.body("{ supportReport { tickets } }"))["data"]["supportReport"] is None
    finally:
        svc.partner_support = frozenset()


# ---- 3b. queues and assignment ------------------------------------------------------------------------
async def test_round_robin_honours_availability_and_reassignment_needs_a_reason(crm, gw):
    tag = uuid.uuid4().hex[:6]
    agent = "mutation($i: SaveSupportAgentInput!) { saveSupportAgent(input: $i) { agent { id version } errors { message } } }"
    made = {}
    for name, available in (("a", True), ("b", False), ("c", True)):
        made[name] = (
            await mutate(
                gw,
                agent,
                {"id": f"agent.{name}.{tag}", "name": name.upper(), "available": available},
                "saveSupportAgent",
            )
        )["agent"]
    members = [made[n]["id"] for n in "abc"]
    queue = (
        await mutate(
            gw,
            "mutation($i: SaveSupportQueueInput!) { saveSupportQueue(input: $i) { queue { id } errors { message } } }",
            {"name": f"Models {tag}", "discipline": "bim", "members": members},
            "saveSupportQueue",
        )
    )["queue"]["id"]
    company, _ = await new_client_company(crm, gw, f"Queue {tag}")
    assigned = []
    for i in range(4):
        t = (await mutate(gw, OPEN, {"companyId": company, "subject": f"Q{i}", "queueId": queue}, "openTicket"))[
            "ticket"
        ]
        q = "query($id: ID!) { ticket(id: $id) { id version assignee queueId } }"
        assigned.append((await gw.ok(q, {"id": t["id"]}))["ticket"])
    # b is unavailable: a, c, a, c
    assert [t["assignee"] for t in assigned] == [members[0], members[2], members[0], members[2]]
    assign = """mutation($i: AssignTicketInput!) { assignTicket(input: $i) {
      ticket { id version assignee assignments { agent by reason } } errors { code message field } } }"""
    t = assigned[0]
    refused = await gw.ok(assign, {"i": {"id": t["id"], "expectedVersion": t["version"], "agent": members[2]}})
    assert refused["assignTicket"]["errors"][0]["field"] == ["input", "reason"]
    done = (
        await mutate(
            gw,
            assign,
            {"id": t["id"], "expectedVersion": t["version"], "agent": members[2], "reason": "a is on leave"},
            "assignTicket",
        )
    )["ticket"]
    assert done["assignee"] == members[2]
    assert [(a["agent"], a["reason"]) for a in done["assignments"]] == [
        (members[0], "queue assignment"),
        (members[2], "a is on leave"),
    ]
