"""Satisfaction surveys: a signed link after resolution (`/s/<token>`, served by the support service
without a bearer token; the ingress routes `/s/` to support), one answer per resolution (score 1–5
and a comment). A low score (1–2) reopens the ticket: the conversation starts again. Results per
agent, queue and client come from `Query.satisfaction`."""

from __future__ import annotations

import html
import json
import logging

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from services.common.app import read_limited_body
from services.common.errors import DuplicateKeyError
from services.common.ids import now_iso
from services.common.signing import BadSignature, sign, verify

from . import domain, escalation, events

log = logging.getLogger(__name__)
PURPOSE = "support.csat"
TTL = 60 * 24 * 3600  # a survey link lives 60 days
MAX_COMMENT = 2000


def survey_token(settings, ticket: dict) -> str:
    return sign(settings, PURPOSE, {"t": ticket["id"], "r": ticket.get("resolutions") or 1}, TTL)


def survey_url(settings, ticket: dict) -> str:
    return f"{settings.public_url}/s/{survey_token(settings, ticket)}"


def _page(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><meta charset=utf-8><title>Survey</title><p>{html.escape(text)}</p>", status)


async def show(request: Request):
    service = request.app.state.service
    try:
        verify(service.settings, PURPOSE, request.path_params["token"])
    except BadSignature:
        return _page("This link is invalid or has expired.", 404)
    options = "".join(f"<label><input type=radio name=score value={i} required> {i}</label> " for i in range(1, 6))
    form = (
        "<!doctype html><meta charset=utf-8><title>How did we do?</title><form method=post>"
        f"<p>How satisfied are you with our answer? {options}</p>"
        "<p><textarea name=comment maxlength=2000></textarea></p><button>Send</button></form>"
    )
    return HTMLResponse(form)


async def answer(request: Request):
    service = request.app.state.service
    try:
        claim = verify(service.settings, PURPOSE, request.path_params["token"])
    except BadSignature:
        return _page("This link is invalid or has expired.", 404)
    raw = await read_limited_body(request, 16 * 1024)
    if raw is None:
        return _page("Too large.", 413)
    score, comment = _parse(raw, request.headers.get("content-type", ""))
    if score is None:
        return _page("Please choose a score from 1 to 5.", 400)
    try:
        await record(service, claim["t"], int(claim.get("r") or 1), score, comment)
    except DuplicateKeyError:
        return _page("Thank you — we already have your answer.", 409)
    except LookupError:
        return _page("This link is invalid or has expired.", 404)
    if "json" in request.headers.get("accept", ""):
        return JSONResponse({"ok": True})
    return _page("Thank you for your answer.")


def _parse(raw: bytes, content_type: str) -> tuple[int | None, str | None]:
    from urllib.parse import parse_qs

    try:
        if "json" in content_type:
            data = json.loads(raw or b"{}")
            score, comment = data.get("score"), data.get("comment")
        else:
            q = parse_qs(raw.decode("utf-8", "replace"))
            score, comment = (q.get("score") or [None])[0], (q.get("comment") or [None])[0]
        score = int(score)
    except (ValueError, TypeError, AttributeError):
        return None, None
    if not 1 <= score <= 5:
        return None, None
    if comment is not None and not isinstance(comment, str):
        comment = None
    return score, (comment or "").strip()[:MAX_COMMENT] or None


async def record(service, ticket_id: str, round_: int, score: int, comment: str | None) -> dict:
    """Store one answer (one per resolution: a second is a DuplicateKeyError) and reopen the
    ticket on a low score."""
    store = service.store
    ticket = await store.get("tickets", ticket_id)
    if ticket is None:
        raise LookupError(ticket_id)
    doc = {
        "id": f"{ticket_id}:{round_}",
        "ticket_id": ticket_id,
        "company_id": ticket.get("company_id"),
        "contact_id": ticket.get("contact_id"),
        "agent": ticket.get("assignee"),
        "queue_id": ticket.get("queue_id"),
        "score": score,
        "comment": comment,
    }
    saved = await store.insert("surveys", doc)
    if domain.satisfaction_low(score):
        now = now_iso()
        reason = f"low satisfaction score {score}/5" + (f": {comment}" if comment else "")

        def reopen(d: dict) -> dict | None:
            if d["status"] not in ("resolved", "closed"):
                return None
            return escalation.with_next_alarm({**domain.reopened(d, now), "reopen_reason": reason}, now)

        await store.mutate(
            "tickets",
            ticket_id,
            reopen,
            events=lambda old, new: [events.reopened(new, reason)] if new["status"] == "open" else [],
        )
    return saved


def routes() -> list[Route]:
    return [Route("/s/{token}", show, methods=["GET"]), Route("/s/{token}", answer, methods=["POST"])]


async def send_link(service, ticket: dict) -> None:
    """Mail the survey link to the requester (or the contact) after a resolution, when SMTP is
    configured; best effort (the link is also on the ticket for staff to pass on)."""
    from services.common.mail import Mailer, MailError, make_message

    mailer = Mailer(service.settings.smtp_url)
    to = ticket.get("requester_email")
    if not to and ticket.get("contact_id"):
        contact = await service.store.get("ref_contacts", ticket["contact_id"])
        to = (contact or {}).get("email")
    if not mailer.enabled or not to:
        return
    msg = make_message(
        sender=service.settings.mail_from,
        to=to,
        subject=f"How did we do? {ticket['subject']} [#{ticket['id']}]",
        text=f"Your request was resolved. Tell us how it went:\n{survey_url(service.settings, ticket)}\n",
        headers={"Auto-Submitted": "auto-generated"},
    )
    try:
        await mailer.send(msg)
    except MailError as exc:
        log.warning("survey link for %s not sent: %s", ticket["id"], exc)
