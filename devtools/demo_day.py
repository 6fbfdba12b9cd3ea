"""Demo data of the manager's day (docs/day.md) for `make run`: an assignment rule, leads, planned
and held activities, a birthday with its yearly reminder and a one-off reminder — created through
the gateway as users would, so every event flows. Called by devtools/demo.py's `seed`."""

from __future__ import annotations

import datetime as dt

import httpx

RULE = "mutation($i: AssignmentRuleInput!) { saveAssignmentRule(input: $i) { rule { id } errors { code message } } }"
LEAD = "mutation($i: CreateLeadInput!) { createLead(input: $i) { lead { id version } errors { code message } } }"
UPDATE_LEAD = "mutation($i: UpdateLeadInput!) { updateLead(input: $i) { lead { id } errors { code message } } }"
ACTIVITY = (
    "mutation($i: CreateActivityInput!) { createActivity(input: $i) { activity { id } errors { code message } } }"
)
PERSONAL = (
    "mutation($i: AddPersonalDateInput!) { addPersonalDate(input: $i) { personalDate { id } errors { code message } } }"
)
REMINDER = (
    "mutation($i: CreateReminderInput!) { createReminder(input: $i) { reminder { id } errors { code message } } }"
)


async def seed_day(url: str, settle, mint, ids: dict[str, str]) -> None:
    from .demo import _call

    admin, anna = mint("admin", "admin.demo"), mint("sales", "sales.anna")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    async with httpx.AsyncClient(timeout=30) as c:
        rule = {"name": "Web forms", "team": ["sales.anna", "sales.bo"], "source": "WEB_FORM", "priority": 10}
        await _call(c, url, RULE, {"i": rule}, "saveAssignmentRule", admin)
        lead = await _call(
            c,
            url,
            LEAD,
            {"i": {"source": "EVENT", "firstName": "Sven", "lastName": "Aalto", "companyName": "Aalto Hotels"}},
            "createLead",
            anna,
        )
        bant = {"budget": True, "authority": True, "need": True, "timing": False}
        l_ = lead["lead"]
        await _call(
            c,
            url,
            UPDATE_LEAD,
            {"i": {"id": l_["id"], "expectedVersion": l_["version"], "bant": bant}},
            "updateLead",
            anna,
        )
        await _call(
            c,
            url,
            LEAD,
            {"i": {"source": "REFERRAL", "lastName": "Kowalski", "companyName": "Vistula Offices"}},
            "createLead",
            anna,
        )
        for act in [
            {
                "kind": "MEETING",
                "title": "Concept review",
                "companyId": ids["nordhaven"],
                "startAt": (now + dt.timedelta(hours=3)).isoformat(),
                "endAt": (now + dt.timedelta(hours=4)).isoformat(),
                "place": "Bergen office",
                "attendeeContactIds": [ids["ingrid"]],
                "attendeeStaff": ["sales.anna"],
            },
            {
                "kind": "CALL",
                "title": "Budget check",
                "status": "HELD",
                "direction": "OUTBOUND",
                "outcome": "Budget confirmed",
                "durationMinutes": 20,
                "contactId": ids["ingrid"],
                "startAt": (now - dt.timedelta(days=1)).isoformat(),
            },
            {
                "kind": "TASK",
                "title": "Send revised drawings",
                "companyId": ids["nordhaven"],
                "dueAt": (now - dt.timedelta(hours=2)).isoformat(),
            },
        ]:
            await _call(c, url, ACTIVITY, {"i": act}, "createActivity", anna)
        await _call(
            c,
            url,
            PERSONAL,
            {"i": {"contactId": ids["ingrid"], "kind": "BIRTHDAY", "month": 2, "day": 29, "daysBefore": 1}},
            "addPersonalDate",
            anna,
        )
        at = (now + dt.timedelta(days=1)).isoformat()
        await _call(
            c,
            url,
            REMINDER,
            {"i": {"title": "Follow up the estimate", "remindAt": at, "companyId": ids["nordhaven"]}},
            "createReminder",
            anna,
        )
    await settle()
