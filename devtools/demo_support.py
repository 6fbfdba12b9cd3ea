"""Support demo data (called from devtools/demo.py): agents, queues, a business-hours calendar,
SLA policies, knowledge-base articles and a deliverable with revisions and a remark — created
through the gateway like every other demo record."""

from __future__ import annotations

import httpx

AGENT = "mutation($i: SaveSupportAgentInput!) { saveSupportAgent(input: $i) { agent { id } errors { code message } } }"
QUEUE = "mutation($i: SaveSupportQueueInput!) { saveSupportQueue(input: $i) { queue { id } errors { code message } } }"
CALENDAR = (
    "mutation($i: SaveSlaCalendarInput!) { saveSlaCalendar(input: $i) { calendar { id } errors { code message } } }"
)
POLICY = "mutation($i: SaveSlaPolicyInput!) { saveSlaPolicy(input: $i) { policy { id } errors { code message } } }"
ARTICLE = (
    "mutation($i: SaveKbArticleInput!) { saveKbArticle(input: $i) { article { id version } errors { code message } } }"
)
PUBLISH = (
    "mutation($i: PublishKbArticleInput!) { publishKbArticle(input: $i) { article { id } errors { code message } } }"
)
DELIVERABLE = (
    "mutation($i: CreateDeliverableInput!) "
    "{ createDeliverable(input: $i) { deliverable { id } errors { code message } } }"
)
REVISION = "mutation($i: IssueRevisionInput!) { issueRevision(input: $i) { revision { id } errors { code message } } }"
OPEN = "mutation($i: OpenTicketInput!) { openTicket(input: $i) { ticket { id } errors { code message } } }"

# Norwegian public holidays 2026–2027 (the demo's clients are in Bergen)
HOLIDAYS = [
    "2026-01-01", "2026-04-02", "2026-04-03", "2026-04-06", "2026-05-01", "2026-05-14", "2026-05-17",
    "2026-05-25", "2026-12-25", "2026-12-26", "2027-01-01", "2027-03-25", "2027-03-26", "2027-03-29",
]  # fmt: skip


async def seed_support(client: httpx.AsyncClient, url: str, ids: dict, mint) -> None:
    from .demo import _call

    admin = mint("admin", "admin.demo")
    mats = mint("customer", "mats@nordhaven", company=ids["nordhaven"], contact=ids["mats"])

    async def call(query: str, inp: dict, key: str, token: str = admin) -> dict:
        return await _call(client, url, query, {"i": inp}, key, token)

    for sub, name, available in [
        ("support.sam", "Sam Support", True),
        ("support.ivy", "Ivy Hansen", False),
        ("support.leo", "Leo Berg", True),
    ]:
        await call(AGENT, {"id": sub, "name": name, "available": available}, "saveSupportAgent")
    ids["queue_bim"] = (
        await call(
            QUEUE,
            {
                "name": "BIM & software",
                "discipline": "bim",
                "members": ["support.sam", "support.ivy", "support.leo"],
                "isDefault": True,
            },
            "saveSupportQueue",
        )
    )["queue"]["id"]
    ids["queue_structural"] = (
        await call(
            QUEUE,
            {
                "name": "Structural",
                "discipline": "structural",
                "strategy": "least_loaded",
                "members": ["support.sam", "support.leo"],
            },
            "saveSupportQueue",
        )
    )["queue"]["id"]
    await call(QUEUE, {"name": "Triage", "isTriage": True, "members": ["support.sam"]}, "saveSupportQueue")
    office = [{"day": d, "start": "08:00", "end": "16:00"} for d in ("mon", "tue", "wed", "thu", "fri")]
    cal = (
        await call(
            CALENDAR,
            {"name": "Bergen office", "timeZone": "Europe/Oslo", "hours": office, "holidays": HOLIDAYS},
            "saveSlaCalendar",
        )
    )["calendar"]["id"]
    await call(
        POLICY,
        {
            "name": "Standard",
            "calendarId": cal,
            "targets": [
                {"priority": "LOW", "firstResponseMinutes": 960, "resolutionMinutes": 4800},
                {"priority": "NORMAL", "firstResponseMinutes": 480, "resolutionMinutes": 2400},
                {"priority": "HIGH", "firstResponseMinutes": 120, "resolutionMinutes": 960},
                {"priority": "CRITICAL", "firstResponseMinutes": 30, "resolutionMinutes": 240},
            ],
            "escalation": {"notify": ["owner", "account_manager"], "raisePriority": True},
        },
        "saveSlaPolicy",
    )
    await call(
        POLICY,
        {
            "name": "Nordhaven framework contract",
            "companyId": ids["nordhaven"],
            "calendarId": cal,
            "warnPercent": 75,
            "targets": [
                {"priority": "NORMAL", "firstResponseMinutes": 240, "resolutionMinutes": 1440},
                {"priority": "HIGH", "firstResponseMinutes": 60, "resolutionMinutes": 480},
                {"priority": "CRITICAL", "firstResponseMinutes": 15, "resolutionMinutes": 120},
            ],
            "escalation": {
                "notify": ["owner", "account_manager"],
                "raisePriority": True,
                "queueId": ids["queue_structural"],
            },
        },
        "saveSlaPolicy",
    )
    for title, body, category, visibility in [
        (
            "Exporting IFC from the BIM viewer",
            "Open the model, choose Fichier/File → Export → IFC 4. Révisions are exported with their label.",
            "software",
            "public",
        ),
        (
            "Reading a drawing revision block",
            "Each sheet shows the revision letter, date and the change description in the lower right corner.",
            "drawings",
            "public",
        ),
        (
            "IFC exporter regression workaround",
            "Downgrade the exporter plug-in to 3.0.4 until 3.2 ships.",
            "software",
            "internal",
        ),
    ]:
        a = (
            await call(
                ARTICLE, {"title": title, "body": body, "category": category, "visibility": visibility}, "saveKbArticle"
            )
        )["article"]
        await call(PUBLISH, {"id": a["id"], "expectedVersion": a["version"]}, "publishKbArticle")
    d = (
        await call(
            DELIVERABLE,
            {"companyId": ids["nordhaven"], "title": "Main hall — structural drawing set", "code": "NH-ST-100"},
            "createDeliverable",
        )
    )["deliverable"]["id"]
    revs = {}
    for label, day in (("A", "2026-09-01"), ("B", "2026-10-15")):
        revs[label] = (await call(REVISION, {"deliverableId": d, "label": label, "issuedOn": day}, "issueRevision"))[
            "revision"
        ]["id"]
    ids["remark_s104"] = (
        await call(
            OPEN,
            {"companyId": ids["nordhaven"], "subject": "Grid line C missing on sheet S-104", "revisionId": revs["B"]},
            "openTicket",
            mats,
        )
    )["ticket"]["id"]
    ids["deliverable_hall"] = d
