"""Marketing's public HTTP routes (no bearer token; docs/marketing.md). The ingress routes these
prefixes to the marketing service: `/forms/` (web-to-lead forms) and `/m/` (unsubscribe, double
opt-in confirmation, open pixel, click redirect).

Every handler checks its own input: signed tokens (services/common/signing.py, one purpose per
kind of link), size and field limits, a rate limit kept in the store (so it holds across
replicas), and answers the same whether or not an address or contact is known."""

from __future__ import annotations

import base64
import json
import logging
import os
import time
from html import escape
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from services.common.app import read_limited_body
from services.common.envelope import Envelope
from services.common.errors import DuplicateKeyError
from services.common.ids import new_id, now_iso
from services.common.mail import Mailer, make_message
from services.common.signing import BadSignature, sign, verify

from . import domain, forms, mailing
from .consent import ConsentChannel, ConsentSource, ConsentStatus

log = logging.getLogger(__name__)
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
LEAD_REQUESTED = "marketing.lead.requested"


def _limit(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name) or default)
    except ValueError:
        return default


class Limits:
    """Submissions allowed per minute (env MARKETING_FORM_PER_IP, MARKETING_FORM_PER_FORM)."""

    per_ip = _limit("MARKETING_FORM_PER_IP", 10)
    per_form = _limit("MARKETING_FORM_PER_FORM", 300)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        f"<!doctype html><html><head><meta charset=utf-8><title>{escape(title)}</title></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})


def _service(request: Request):
    return request.app.state.service


# ---- unsubscribe, confirmation, tracking --------------------------------------------------------
async def unsubscribe(request: Request) -> Response:
    svc = _service(request)
    try:
        p = verify(svc.settings, "unsubscribe", request.path_params["token"])
    except BadSignature:
        return _page("Invalid link", "<p>This unsubscribe link is not valid.</p>", 400)
    if request.method == "GET":  # link scanners fetch links: only a POST (one click, RFC 8058) unsubscribes
        return _page(
            "Unsubscribe",
            f'<form method="post"><p>Stop receiving these e-mails at {escape(p["e"])}?</p>'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click"><button>Unsubscribe</button></form>',
        )
    await read_limited_body(request, 4096)
    from .api_mailing import record_consent

    await record_consent(
        svc.store,
        channel=ConsentChannel.EMAIL,
        status=ConsentStatus.WITHDRAWN,
        source=ConsentSource.UNSUBSCRIBE_LINK,
        proof=f"unsubscribe link of send {p.get('s')} from {request.client.host if request.client else '?'}",
        contact_id=p.get("c"),
        email=p["e"],
    )
    return _page("Unsubscribed", "<p>You will not receive these e-mails any more.</p>")


async def confirm(request: Request) -> Response:
    """Double opt-in: the link of the confirmation e-mail turns a pending consent into granted."""
    svc = _service(request)
    try:
        p = verify(svc.settings, "confirm", request.path_params["token"])
    except BadSignature:
        return _page("Invalid link", "<p>This confirmation link is not valid or has expired.</p>", 400)
    if request.method == "GET":  # as for unsubscribing: a link scanner must not confirm for the person
        return _page(
            "Confirm",
            f'<form method="post"><p>Receive our e-mails at {escape(p["e"])}?</p><button>Confirm</button></form>',
        )
    await read_limited_body(request, 4096)
    from .api_mailing import record_consent

    await record_consent(
        svc.store,
        channel=ConsentChannel.EMAIL,
        status=ConsentStatus.GRANTED,
        source=ConsentSource.DOUBLE_OPT_IN,
        proof=f"confirmed from form {p.get('f')} at {now_iso()} from {request.client.host if request.client else '?'}",
        contact_id=None,
        email=p["e"],
    )
    return _page("Thank you", "<p>Your subscription is confirmed.</p>")


async def _mark(svc, delivery_id: str, to: str) -> None:
    at_field = {"opened": "opened_at", "clicked": "clicked_at"}[to]
    now = now_iso()

    def fn(d):
        nxt = mailing.advance(d["status"], to)
        first = d.get(at_field) is None
        if not nxt and not first:
            return None
        return {**d, **({"status": nxt} if nxt else {}), **({at_field: now} if first else {})}

    try:
        await svc.store.mutate("deliveries", delivery_id, fn)
    except Exception as exc:  # a gone delivery: the pixel and the redirect still answer
        log.info("tracking %s %s: %r", to, delivery_id, exc)


async def opened(request: Request) -> Response:
    svc = _service(request)
    try:
        p = verify(svc.settings, "open", request.path_params["token"])
        await _mark(svc, p["d"], "opened")
    except BadSignature:
        pass
    return Response(PIXEL, media_type="image/gif", headers={"cache-control": "no-store"})


async def clicked(request: Request) -> Response:
    """A signed redirect: only URLs the CRM put in a message are followed (no open redirect)."""
    svc = _service(request)
    try:
        p = verify(svc.settings, "click", request.path_params["token"])
    except BadSignature:
        return _page("Invalid link", "<p>This link is not valid.</p>", 400)
    await _mark(svc, p["d"], "clicked")
    return RedirectResponse(p["u"], status_code=302)


# ---- web forms ----------------------------------------------------------------------------------
async def _form(svc, key: str) -> dict | None:
    if not forms.KEY_RE.match(key):
        return None
    doc = await svc.store.get("forms", key)
    return doc if doc and doc.get("active", True) else None


def render_token(svc, key: str) -> str:
    return sign(svc.settings, "form-render", {"k": key, "t": time.time()}, 2 * forms.MAX_AGE)


async def form_page(request: Request) -> Response:
    svc = _service(request)
    form = await _form(svc, request.path_params["key"])
    if form is None:
        return _page("Not found", "<p>No such form.</p>", 404)
    action = f"{svc.settings.public_url}/forms/{form['key']}"
    return _page(form["name"], forms.form_html(form, action, render_token(svc, form["key"])))


async def form_token(request: Request) -> Response:
    svc = _service(request)
    form = await _form(svc, request.path_params["key"])
    if form is None:
        return JSONResponse({"error": "no such form"}, status_code=404)
    return JSONResponse({"token": render_token(svc, form["key"])}, headers={"cache-control": "no-store"})


async def _hit(svc, bucket: str, limit: int) -> bool:
    """Count one submission in this minute's bucket; False when over the limit."""
    minute = int(time.time() // 60)
    doc = await svc.store.mutate(
        "form_hits",
        f"{minute}:{bucket}",
        lambda d: {"n": int((d or {}).get("n") or 0) + 1, "minute": minute},
        create=True,
    )
    return int(doc["n"]) <= limit


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def submit(request: Request) -> Response:
    svc = _service(request)
    key = request.path_params["key"]
    form = await _form(svc, key)
    if form is None:
        return _reply(request, 404, "no such form")
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in ("application/json", "application/x-www-form-urlencoded"):
        return _reply(request, 415, "send application/json or application/x-www-form-urlencoded")
    body = await read_limited_body(request, forms.MAX_BODY)
    if body is None:
        return _reply(request, 413, "submission too large")
    if not await _hit(svc, f"ip:{_client_ip(request)}", Limits.per_ip) or not await _hit(
        svc, f"form:{key}", Limits.per_form
    ):
        return _reply(request, 429, "too many submissions: try again in a minute", {"retry-after": "60"})
    try:
        data = _parse(body, ctype)
        rendered = _rendered_at(svc, key, data.get(forms.TOKEN))
        sub = forms.check_submission(form, data, now=time.time(), rendered_at=rendered)
    except forms.Rejected as exc:
        return _reply(request, exc.status, exc.message)
    if not sub["referrer"]:
        sub["referrer"] = (request.headers.get("referer") or "")[:2000] or None
    await accept(svc, form, sub, _client_ip(request), request.headers.get("user-agent", "")[:300])
    if ctype == "application/json":
        return JSONResponse({"ok": True, "message": "thank you"}, status_code=201)
    if form.get("thank_you_url"):
        return RedirectResponse(form["thank_you_url"], status_code=303)
    return _page("Thank you", "<p>We will be in touch.</p>")


def _parse(body: bytes, ctype: str) -> dict:
    try:
        if ctype == "application/json":
            data = json.loads(body or b"{}")
            if not isinstance(data, dict):
                raise forms.Rejected(400, "a JSON object is expected")
            return data
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=forms.MAX_FIELDS + 1)
    except (ValueError, UnicodeDecodeError):
        raise forms.Rejected(400, "the body cannot be read") from None
    data: dict = {}
    for k, v in pairs:
        if k in data:
            raise forms.Rejected(422, f"field {k[:40]} given twice")
        data[k] = v
    return data


def _rendered_at(svc, key: str, token) -> float | None:
    if not isinstance(token, str) or not token or len(token) > 500:
        return None
    try:
        p = verify(svc.settings, "form-render", token)
    except BadSignature:
        return None
    return float(p["t"]) if p.get("k") == key else None


def _reply(request: Request, status: int, message: str, headers: dict | None = None) -> Response:
    if "application/json" in request.headers.get("content-type", "") or "json" in request.headers.get("accept", ""):
        return JSONResponse({"error": message}, status_code=status, headers=headers)
    page = _page("Not sent", f"<p>{escape(message)}</p>", status)
    page.headers.update(headers or {})
    return page


async def accept(svc, form: dict, sub: dict, ip: str, user_agent: str) -> str:
    """Store the submission with its lead request (outbox, one write); a known address links the
    contact and records a campaign response; consent is recorded (pending with double opt-in)."""
    store = svc.store
    email = sub["lead"].get("email")
    contact = None
    if email:
        found = await store.find("ref_contacts", {"email": email}, first=1)
        contact = found.items[0] if found.items else None
    sid = new_id()
    lead_id = f"form-{sid}"
    data = forms.lead_request(form, sub, contact=contact)
    doc = {
        "id": sid,
        "form_id": form["id"],
        "campaign_id": form.get("campaign_id"),
        "values": sub["values"],
        "utm": sub["utm"],
        "referrer": sub["referrer"],
        "consent": sub["consent"],
        "contact_id": (contact or {}).get("id"),
        "lead_id": lead_id,
        "ip": ip,
        "user_agent": user_agent,
        "at": now_iso(),
    }
    await store.insert("form_submissions", doc, events=[Envelope(LEAD_REQUESTED, lead_id, data)])
    if contact and form.get("campaign_id"):
        await _respond(svc, form["campaign_id"], contact, f"web form {form['key']}")
    if sub["consent"] and email:
        from .api_mailing import record_consent

        status = ConsentStatus.PENDING if form.get("double_opt_in", True) else ConsentStatus.GRANTED
        proof = f'form {form["key"]} submission {sid}: "{form.get("consent_text")}" from {ip} ({user_agent[:100]})'
        await record_consent(
            store,
            channel=ConsentChannel.EMAIL,
            status=status,
            source=ConsentSource.WEB_FORM,
            proof=proof,
            contact_id=(contact or {}).get("id"),
            email=email,
        )
        if status is ConsentStatus.PENDING:
            await _send_confirmation(svc, form, email)
    return sid


async def _respond(svc, campaign_id: str, contact: dict, response: str) -> None:
    from . import events

    campaign = await svc.store.get("campaigns", campaign_id)
    if campaign is None:
        return
    mid = domain.member_id(campaign_id, contact["id"])
    try:
        await svc.store.mutate(
            "members",
            mid,
            lambda d: (
                None
                if d and d.get("status") == "responded"
                else domain.responded(d, campaign_id=campaign_id, contact=contact, response=response, at=now_iso())
            ),
            create=True,
            events=lambda old, new: [events.member_responded(campaign, mid, new)],
        )
    except (DuplicateKeyError, Exception) as exc:  # already responded: one response per campaign
        log.info("form response %s: %r", mid, exc)


async def _send_confirmation(svc, form: dict, email: str) -> None:
    """The double opt-in e-mail (best effort: without SMTP the consent stays pending)."""
    settings = svc.settings
    mailer = Mailer(settings.smtp_url)
    if not mailer.enabled:
        return
    token = sign(settings, "confirm", {"e": email, "f": form["key"]}, 7 * 24 * 3600)
    url = f"{settings.public_url}/m/confirm/{token}"
    msg = make_message(
        sender=settings.mail_from,
        to=email,
        subject="Please confirm your subscription",
        text=f"Please confirm that you want to receive our e-mails:\n\n{url}\n\n"
        "If you did not ask for this, ignore this message.",
    )
    try:
        await mailer.send(msg)
    except Exception as exc:
        log.warning("double opt-in mail to form %s failed: %r", form["key"], exc)


def routes() -> list[Route]:
    return [
        Route("/m/u/{token}", unsubscribe, methods=["GET", "POST"]),
        Route("/m/confirm/{token}", confirm, methods=["GET", "POST"]),
        Route("/m/o/{token}", opened, methods=["GET"]),
        Route("/m/c/{token}", clicked, methods=["GET"]),
        Route("/forms/{key}", form_page, methods=["GET"]),
        Route("/forms/{key}/token", form_token, methods=["GET"]),
        Route("/forms/{key}", submit, methods=["POST"]),
    ]
