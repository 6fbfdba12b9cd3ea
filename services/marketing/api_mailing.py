"""E-mail sends and consent in GraphQL (rules: mailing.py, consent.py; the job: sender.py)."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.types import Info

from services.common.authz import ADMIN, MARKETING, SALES, STAFF, allow
from services.common.errors import ErrorCode, InputError
from services.common.graphql import Connection, FromDoc, UserError, payload, payload_errors
from services.common.ids import new_id, now_iso
from services.common.values import all_of, clean_text

from . import consent, mailing
from .consent import ConsentChannel as _Channel
from .consent import ConsentSource as _Source
from .consent import ConsentStatus as _Status
from .types import Consent, ConsentChannel, ConsentSource, ConsentStatus

SkipReason = strawberry.enum(consent.SkipReason)
SendState = strawberry.enum(mailing.SendState)
DeliveryStatus = strawberry.enum(mailing.DeliveryStatus)


@strawberry.type
class StatusCount:
    status: DeliveryStatus
    count: int


@strawberry.type
class SkipCount:
    reason: SkipReason
    count: int


@strawberry.type(description="A recipient of an e-mail send.")
class Delivery(FromDoc):
    id: strawberry.ID
    contact_id: strawberry.ID
    email: str | None
    status: DeliveryStatus
    reason: SkipReason | None
    attempts: int
    error: str | None
    sent_at: dt.datetime | None
    opened_at: dt.datetime | None
    clicked_at: dt.datetime | None

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        return {"attempts": int(doc.get("attempts") or 0)}


@strawberry.type(description="An e-mail send of a campaign: a resumable job (docs/marketing.md).")
class EmailSend(FromDoc):
    id: strawberry.ID
    campaign_id: strawberry.ID
    segment_id: strawberry.ID | None
    state: SendState
    subject: str
    track_opens: bool
    track_clicks: bool
    version: int
    created_at: dt.datetime
    finished_at: dt.datetime | None

    @classmethod
    def doc_fields(cls, doc: dict) -> dict:
        return {"track_opens": bool(doc.get("track_opens")), "track_clicks": bool(doc.get("track_clicks"))}

    @strawberry.field(description="Recipients per status.", extensions=allow(STAFF))
    async def counts(self, info: Info) -> list[StatusCount] | None:
        c = info.context
        rows = await c.store.group("deliveries", ["status"], flt=c.scoped("deliveries", {"send_id": str(self.id)}))
        return [StatusCount(status=mailing.DeliveryStatus(r["key"]["status"]), count=r["count"]) for r in rows]

    @strawberry.field(description="Recipients skipped, per reason (no consent, withdrawn...).", extensions=allow(STAFF))
    async def skipped(self, info: Info) -> list[SkipCount] | None:
        c = info.context
        flt = c.scoped("deliveries", {"send_id": str(self.id), "status": mailing.DeliveryStatus.SKIPPED.value})
        rows = await c.store.group("deliveries", ["reason"], flt=flt)
        return [SkipCount(reason=consent.SkipReason(r["key"]["reason"]), count=r["count"]) for r in rows]

    @strawberry.field(extensions=allow(STAFF))
    async def deliveries(
        self, info: Info, first: int | None = None, after: str | None = None, status: DeliveryStatus | None = None
    ) -> Connection[Delivery] | None:
        flt = all_of({"send_id": str(self.id)}, {"status": status.value} if status else None)
        return await info.context.page("deliveries", flt, [("id", 1)], first, after, Delivery.from_doc)


@strawberry.input
class StartEmailSendInput:
    campaign_id: strawberry.ID
    segment_id: strawberry.ID | None = strawberry.field(
        default=None, description="The audience; without it, the campaign's members."
    )
    subject: str
    text: str = strawberry.field(
        description="Plain-text body (jinja2 template, sandboxed; merge fields: docs/marketing.md)."
    )
    html: str | None = None
    track_opens: bool = False
    track_clicks: bool = False


@strawberry.input
class EmailSendActionInput:
    id: strawberry.ID
    expected_version: int


@strawberry.input
class RecordConsentInput:
    contact_id: strawberry.ID
    channel: ConsentChannel
    status: ConsentStatus
    source: ConsentSource = consent.ConsentSource.MANUAL
    proof: str | None = strawberry.field(
        default=None, description="Where the consent comes from (a signed form, a call...)."
    )


EmailSendPayload = payload("EmailSendPayload", send=EmailSend)
ConsentPayload = payload("ConsentPayload", consent=Consent)


@strawberry.type
class RequeuePayload:
    send: EmailSend | None = None
    requeued: int = 0
    errors: list[UserError] = strawberry.field(default_factory=list)


async def record_consent(store, *, channel, status, source, proof, contact_id, email, at=None, events=()):
    key = consent.address_key(channel, email=email, contact_id=contact_id)
    return await store.mutate(
        "consents",
        key,
        lambda d: consent.changed(
            d,
            channel=channel,
            status=status,
            source=source,
            at=at or now_iso(),
            proof=proof,
            contact_id=contact_id,
            address=email if channel is _Channel.EMAIL else None,
        ),
        create=True,
        events=(lambda old, new: events(old, {**new, "id": key})) if callable(events) else events,
    )


def _transition(allowed_from: set[str], to: str):
    def fn(d: dict) -> dict:
        if d["state"] not in allowed_from:
            raise InputError(ErrorCode.INVALID, f"a {d['state']} send cannot become {to}", ["input", "id"])
        return {**d, "state": to}

    return fn


@strawberry.type
class MailingQueries:
    @strawberry.field(extensions=allow(STAFF))
    async def email_send(self, info: Info, id: strawberry.ID) -> EmailSend | None:
        return await info.context.one("sends", id, EmailSend.from_doc)

    @strawberry.field(extensions=allow(STAFF))
    async def email_sends(
        self, info: Info, first: int | None = None, after: str | None = None, campaign_id: strawberry.ID | None = None
    ) -> Connection[EmailSend] | None:
        flt = {"campaign_id": str(campaign_id)} if campaign_id else {}
        return await info.context.page("sends", flt, [("created_at", -1)], first, after, EmailSend.from_doc)


S = mailing.SendState


@strawberry.type
class MailingMutations:
    @strawberry.mutation(
        description="Queue an e-mail to a segment (or the campaign's members); recipients without consent are skipped.",
        extensions=allow(ADMIN, MARKETING),
    )
    @payload_errors(EmailSendPayload)
    async def start_email_send(self, info: Info, input: StartEmailSendInput) -> EmailSendPayload | None:
        c = info.context
        campaign = await c.referenced("campaigns", input.campaign_id, "campaign", "campaignId")
        if input.segment_id:
            await c.referenced("segments", input.segment_id, "segment", "segmentId")
        mailing.check_templates(input.subject, input.text, input.html)
        body = {
            "id": new_id(),
            "campaign_id": campaign["id"],
            "segment_id": str(input.segment_id) if input.segment_id else None,
            "subject": input.subject,
            "text": input.text,
            "html": input.html,
            "track_opens": input.track_opens,
            "track_clicks": input.track_clicks,
            "state": S.PREPARING.value,
            "open": True,
            "created_by": c.principal.sub,
        }
        doc = await c.create("sends", "EmailSend", body)
        return EmailSendPayload(send=EmailSend.from_doc(doc))

    @strawberry.mutation(extensions=allow(ADMIN, MARKETING))
    @payload_errors(EmailSendPayload)
    async def pause_email_send(self, info: Info, input: EmailSendActionInput) -> EmailSendPayload | None:
        doc = await info.context.update(
            "sends",
            "EmailSend",
            input.id,
            _transition({S.RUNNING.value, S.PREPARING.value}, S.PAUSED.value),
            expected_version=input.expected_version,
        )
        return EmailSendPayload(send=EmailSend.from_doc(doc))

    @strawberry.mutation(extensions=allow(ADMIN, MARKETING))
    @payload_errors(EmailSendPayload)
    async def resume_email_send(self, info: Info, input: EmailSendActionInput) -> EmailSendPayload | None:
        c = info.context
        current = await c.referenced("sends", input.id, "emailsend", "id", code=ErrorCode.NOT_FOUND)
        to = S.RUNNING.value if current.get("prepared_at") else S.PREPARING.value
        doc = await c.update(
            "sends", "EmailSend", input.id, _transition({S.PAUSED.value}, to), expected_version=input.expected_version
        )
        return EmailSendPayload(send=EmailSend.from_doc(doc))

    @strawberry.mutation(
        description="Stop a send for good: queued recipients are not sent.", extensions=allow(ADMIN, MARKETING)
    )
    @payload_errors(EmailSendPayload)
    async def cancel_email_send(self, info: Info, input: EmailSendActionInput) -> EmailSendPayload | None:
        live = {S.PREPARING.value, S.RUNNING.value, S.PAUSED.value}
        doc = await info.context.update(
            "sends",
            "EmailSend",
            input.id,
            _transition(live, S.CANCELLED.value),
            expected_version=input.expected_version,
        )
        return EmailSendPayload(send=EmailSend.from_doc(doc))

    @strawberry.mutation(
        description="Send again to the recipients left UNKNOWN by a crash mid-send "
        "(same Message-ID; docs/marketing.md).",
        extensions=allow(ADMIN, MARKETING),
    )
    @payload_errors(RequeuePayload)
    async def requeue_unknown_deliveries(self, info: Info, id: strawberry.ID) -> RequeuePayload | None:
        c = info.context
        send = await c.referenced("sends", id, "email send", "id", code=ErrorCode.NOT_FOUND)
        unknown = await c.store.find_all(
            "deliveries", {"send_id": send["id"], "status": mailing.DeliveryStatus.UNKNOWN.value}
        )
        for d in unknown:
            await c.store.mutate(
                "deliveries",
                d["id"],
                lambda doc: (
                    {**doc, "status": "queued", "next_at": now_iso(), "claim": None}
                    if doc["status"] == "unknown"
                    else None
                ),
            )
        if unknown and send["state"] == S.DONE.value:
            send = await c.store.mutate("sends", send["id"], lambda d: {**d, "state": S.RUNNING.value, "open": True})
        return RequeuePayload(send=EmailSend.from_doc(send), requeued=len(unknown))

    @strawberry.mutation(
        description="Record a contact's consent (or its withdrawal) on a channel, with its source and proof.",
        extensions=allow(ADMIN, MARKETING, SALES),
    )
    @payload_errors(ConsentPayload)
    async def record_consent(self, info: Info, input: RecordConsentInput) -> ConsentPayload | None:
        c = info.context
        contact = await c.referenced("ref_contacts", input.contact_id, "contact", "contactId")
        proof = clean_text(input.proof, "proof", max_len=2000)
        by = f"recorded by {c.principal.sub}" + (f": {proof}" if proof else "")
        doc = await record_consent(
            c.store,
            channel=_Channel(input.channel.value),
            status=_Status(input.status.value),
            source=_Source(input.source.value),
            proof=by,
            contact_id=contact["id"],
            email=contact.get("email"),
            events=lambda old, new: [c.audit("updated" if old else "created", "Consent", new["id"], None)],
        )
        return ConsentPayload(consent=Consent.from_doc(doc))
