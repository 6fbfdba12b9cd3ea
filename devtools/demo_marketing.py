"""Marketing demo data for `make run` (called from devtools/demo.py): consent for the demo people,
three segments, a web-to-lead form for the webinar, a call list for sales and the webinar's
monthly spend — created through the gateway, as a marketer would. Nothing is sent and no call is
logged, so the README's 360° view is unchanged."""

from __future__ import annotations

import httpx

from devtools.demo import SeedError, _call

CONSENT = "mutation($i: RecordConsentInput!) { recordConsent(input: $i) { consent { id } errors { code message } } }"
SEGMENT = "mutation($i: CreateSegmentInput!) { createSegment(input: $i) { segment { id } errors { code message } } }"
FORM = "mutation($i: CreateWebFormInput!) { createWebForm(input: $i) { form { id } errors { code message } } }"
CALLS = "mutation($i: CreateCallListInput!) { createCallList(input: $i) { callList { id } errors { code message } } }"
SPEND = (
    "mutation($i: RecordCampaignSpendInput!) { recordCampaignSpend(input: $i) { spend { period } "
    "errors { code message } } }"
)


async def seed_marketing(c: httpx.AsyncClient, url: str, ids: dict[str, str], mint, settle) -> None:
    marketing = mint("marketing", "marketing.olga")
    for who in ("ingrid", "anna", "lena"):
        await _call(
            c,
            url,
            CONSENT,
            {
                "i": {
                    "contactId": ids[who],
                    "channel": "EMAIL",
                    "status": "GRANTED",
                    "source": "WEB_FORM",
                    "proof": "webinar registration form, 2026-03",
                }
            },
            "recordConsent",
            marketing,
        )
    segments = [
        ("seg_prospects", "Prospects", [{"field": "LIFECYCLE", "op": "IN", "values": ["prospect", "lead"]}]),
        (
            "seg_webinar",
            "Webinar responders",
            [{"field": "RESPONDED_TO_CAMPAIGN", "op": "IN", "values": [ids["webinar"]]}],
        ),
        ("seg_quiet", "No contact for 90 days", [{"field": "LAST_ACTIVITY_AT", "op": "BEFORE", "days": 90}]),
    ]
    for key, name, conditions in segments:
        p = await _call(
            c, url, SEGMENT, {"i": {"name": name, "definition": {"conditions": conditions}}}, "createSegment", marketing
        )
        ids[key] = p["segment"]["id"]
    p = await _call(
        c,
        url,
        FORM,
        {
            "i": {
                "key": "design-offer",
                "name": "Request a turnkey design offer",
                "campaignId": ids["webinar"],
                "fields": [
                    {"name": "email", "mapsTo": "EMAIL", "label": "E-mail", "required": True},
                    {"name": "first_name", "mapsTo": "FIRST_NAME", "label": "First name"},
                    {"name": "last_name", "mapsTo": "LAST_NAME", "label": "Last name"},
                    {"name": "company", "mapsTo": "COMPANY_NAME", "label": "Company"},
                    {"name": "project", "mapsTo": "NOTES", "label": "Your project"},
                ],
                "consentText": "Send me news about turnkey design (you can unsubscribe at any time)",
            }
        },
        "createWebForm",
        marketing,
    )
    ids["form_design_offer"] = p["form"]["id"]
    p = await _call(
        c,
        url,
        CALLS,
        {
            "i": {
                "name": "Webinar follow-up calls",
                "segmentId": ids["seg_webinar"],
                "campaignId": ids["webinar"],
                "callers": ["sales.anna"],
                "script": "Thank them for attending; ask about their next building project; offer a site visit.",
            }
        },
        "createCallList",
        marketing,
    )
    ids["call_list"] = p["callList"]["id"]
    for period, amount in (("2026-03", "1800"), ("2026-04", "1200")):
        await _call(
            c,
            url,
            SPEND,
            {"i": {"campaignId": ids["webinar"], "period": period, "amount": amount}},
            "recordCampaignSpend",
            marketing,
        )
    await settle()


__all__ = ["SeedError", "seed_marketing"]
