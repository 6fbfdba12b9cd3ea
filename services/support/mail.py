"""E-mail to ticket (docs/support.md): an inbound SMTP endpoint (aiosmtpd, on the service's own
event loop) and staff replies out by SMTP (`services.common.mail`).

- `TURNKEY_INBOUND_SMTP=host:port` turns the endpoint on (off by default); any address at that
  server is the support mailbox. `TURNKEY_INBOUND_MAX_BYTES` (default 10 MB) limits a message,
  `TURNKEY_ATTACHMENT_MAX_BYTES` (default 1 MB) the content kept per attachment (bigger ones keep
  metadata only).
- Threading: a message whose `In-Reply-To` / `References` names a message of a ticket (inbound or
  sent by staff), or whose subject carries the ticket token `[#<ticket id>]`, is appended to that
  ticket as a public comment; otherwise it opens a ticket. A `Message-ID` seen before is ignored
  (a redelivery makes nothing twice).
- The sender is matched to a contact by e-mail address (support's contact replica); an unknown
  sender's ticket goes to the triage queue (`isTriage`) with no company.
- Loops: auto-replies and bulk mail are accepted and dropped (`Auto-Submitted` other than `no`,
  `Precedence: bulk|junk|list|auto_reply`, `X-Auto-Response-Suppress`, `X-Autoreply`,
  `X-Autorespond`, `List-Id`, an empty envelope sender (bounces), mail from our own address).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import re
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import getaddresses, parseaddr
from typing import TYPE_CHECKING

from services.common.envelope import Envelope
from services.common.ids import new_id, now_iso
from services.common.mail import Mailer, MailError, make_message
from services.common.values import clean_text

from . import domain, escalation, events, tickets

if TYPE_CHECKING:
    from .service import SupportService

log = logging.getLogger(__name__)

TOKEN = re.compile(r"\[#([0-9A-HJKMNP-TV-Z]{26})\]")
BULK = {"bulk", "junk", "list", "auto_reply"}
MAX_REFS = 20


def inbound_address() -> tuple[str, int] | None:
    value = os.environ.get("TURNKEY_INBOUND_SMTP", "").strip()
    if not value:
        return None
    host, _, port = value.rpartition(":")
    return host or "127.0.0.1", int(port)


def max_message_bytes() -> int:
    return int(os.environ.get("TURNKEY_INBOUND_MAX_BYTES", str(10 * 1024 * 1024)))


def max_attachment_bytes() -> int:
    return int(os.environ.get("TURNKEY_ATTACHMENT_MAX_BYTES", str(1024 * 1024)))


# ---- plain rules (unit-tested) ------------------------------------------------------------------
def auto_generated(msg: EmailMessage, envelope_from: str | None, own: str) -> str | None:
    """Why a message must not make a ticket or an answer (None: a person wrote it)."""
    auto = (msg.get("Auto-Submitted") or "").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = (msg.get("Precedence") or "").strip().lower()
    if precedence in BULK:
        return f"Precedence: {precedence}"
    for h in ("X-Auto-Response-Suppress", "X-Autoreply", "X-Autorespond", "List-Id", "List-Unsubscribe"):
        if msg.get(h) is not None:
            return h
    if envelope_from is not None and envelope_from.strip() in ("", "<>"):
        return "bounce (empty envelope sender)"
    sender = parseaddr(str(msg.get("From") or ""))[1].lower()
    if sender and sender == parseaddr(own)[1].lower():
        return "sent by ourselves"
    return None


def message_ids(value: str | None) -> list[str]:
    """The `<id>`s of a Message-ID / In-Reply-To / References header, normalised."""
    return [m.strip().lower() for m in re.findall(r"<([^<>\s]+)>", value or "")]


def thread_refs(msg: EmailMessage) -> list[str]:
    """Message ids a message answers, nearest first."""
    refs = message_ids(str(msg.get("In-Reply-To") or "")) + list(
        reversed(message_ids(str(msg.get("References") or "")))
    )
    return list(dict.fromkeys(refs))


def subject_token(subject: str | None) -> str | None:
    m = TOKEN.search(subject or "")
    return m.group(1) if m else None


def body_text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = part.get_content()
    if part.get_content_type() == "text/html":
        text = re.sub(r"<[^>]+>", " ", text)
    return text.strip()


def attachments(msg: EmailMessage, limit: int) -> list[dict]:
    out = []
    for part in msg.iter_attachments():
        data = part.get_payload(decode=True) or b""
        out.append(
            {
                "filename": part.get_filename() or "attachment",
                "content_type": part.get_content_type(),
                "size": len(data),
                "content_b64": base64.b64encode(data).decode() if len(data) <= limit else None,
            }
        )
    return out


# ---- inbound ------------------------------------------------------------------------------------
class InboundHandler:
    """aiosmtpd handler: each accepted message goes through `ingest`."""

    def __init__(self, service: SupportService):
        self.service = service

    async def handle_DATA(self, server, session, envelope):
        try:
            msg = message_from_bytes(envelope.original_content or envelope.content, policy=default_policy)
            await ingest(self.service, msg, envelope.mail_from)
        except Exception:
            log.exception("inbound mail failed")
            return "451 4.3.0 temporarily unable to process the message"
        return "250 Message accepted"


async def start_inbound(service: SupportService):
    """The SMTP endpoint on the running loop (no extra thread): returns the asyncio server."""
    from aiosmtpd.smtp import SMTP

    addr = inbound_address()
    if addr is None:
        return None
    handler = InboundHandler(service)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, data_size_limit=max_message_bytes(), hostname="turnkey-support", decode_data=False),
        host=addr[0],
        port=addr[1],
    )
    log.info("support inbound SMTP on %s:%s", *addr)
    return server


async def ingest(service: SupportService, msg: EmailMessage, envelope_from: str | None) -> str:
    """One inbound message → "ignored: …", "duplicate", "appended:<ticket>" or "opened:<ticket>"."""
    store = service.store
    why = auto_generated(msg, envelope_from, service.settings.mail_from)
    if why:
        service.mail_ignored += 1
        log.info("inbound mail ignored: %s", why)
        return f"ignored: {why}"
    own_ids = message_ids(str(msg.get("Message-ID") or "")) or [f"{new_id().lower()}@inbound"]
    own_id = own_ids[0]
    if await store.get("mail_threads", own_id):
        return "duplicate"
    ticket = None
    refs = thread_refs(msg)
    if refs:
        found = await store.get_many("mail_threads", refs)
        for r in refs:
            if r in found:
                ticket = await store.get("tickets", found[r]["ticket_id"])
                if ticket:
                    break
    if ticket is None and (token := subject_token(str(msg.get("Subject") or ""))):
        ticket = await store.get("tickets", token)
    name, address = parseaddr(str(msg.get("From") or ""))
    address = address.strip().lower()
    contact = await contact_by_email(store, address)
    text = body_text(msg)[: domain.MAX_TEXT] or "(no text)"
    files = attachments(msg, max_attachment_bytes())
    now = now_iso()
    if ticket is not None:
        await append(service, ticket, text, address, contact, own_id, refs, files, now)
        return f"appended:{ticket['id']}"
    ticket = await open_from_mail(service, msg, text, address, name, contact, own_id, refs, files, now)
    return f"opened:{ticket['id']}"


async def contact_by_email(store, address: str) -> dict | None:
    if not address:
        return None
    for candidate in dict.fromkeys([address, address.lower()]):
        page = await store.find("ref_contacts", {"email": candidate}, first=1)
        if page.items:
            return page.items[0]
    return None


async def _save_thread(store, message_id: str, ticket_id: str) -> None:
    from services.common.errors import DuplicateKeyError

    try:
        await store.insert("mail_threads", {"id": message_id, "ticket_id": ticket_id})
    except DuplicateKeyError:
        pass


async def _save_files(store, ticket_id: str, comment_id: str | None, files: list[dict]) -> list[dict]:
    meta = []
    for f in files:
        doc = {
            "id": new_id(),
            "ticket_id": ticket_id,
            "comment_id": comment_id,
            **f,
            "stored": f["content_b64"] is not None,
        }
        await store.insert("attachments", doc)
        meta.append({k: doc[k] for k in ("id", "filename", "content_type", "size", "stored")})
    return meta


async def open_from_mail(service, msg, text, address, name, contact, own_id, refs, files, now) -> dict:
    store = service.store
    subject = clean_text(str(msg.get("Subject") or "").replace("\n", " ")[:200], "subject") or "(no subject)"
    triage = None
    if contact is None:
        q = await tickets.all_of(store, "queues", {"is_triage": True})
        triage = q[0]["id"] if q else None
    body = {
        "id": new_id(),
        "company_id": contact.get("company_id") if contact else None,
        "contact_id": contact["id"] if contact else None,
        "subject": subject,
        "description": text,
        "priority": "normal",
        "status": "open",
        "opened_by": f"mail:{address}",
        "channel": "email",
        "requester_email": address,
        "requester_name": name or None,
        "queue_id": triage,
        "mail_refs": [*reversed(refs[:MAX_REFS]), own_id][-MAX_REFS:],
        "last_message_id": own_id,
    }
    if body["company_id"]:
        body = await tickets.prepared(store, body, now=now)
    else:
        body = await tickets.prepared(store, {**body, "company_id": ""}, now=now)
        body["company_id"] = None
    await _save_thread(store, own_id, body["id"])
    body["attachments"] = await _save_files(store, body["id"], None, files)
    doc = await store.insert("tickets", body, events=[events.opened({**body, "version": 1})])
    return doc


async def append(service, ticket, text, address, contact, own_id, refs, files, now) -> None:
    store = service.store
    comment_id = new_id()
    comment = {
        "id": comment_id,
        "ticket_id": ticket["id"],
        "company_id": ticket.get("company_id"),
        "contact_id": ticket.get("contact_id"),
        "body": text,
        "internal": False,
        "author": f"mail:{address}",
        "author_role": "customer",
        "channel": "email",
        "message_id": own_id,
    }
    await _save_thread(store, own_id, ticket["id"])
    comment["attachments"] = await _save_files(store, ticket["id"], comment_id, files)

    def apply(d: dict) -> dict:
        changed = {**d, "last_message_id": own_id, "mail_refs": [*(d.get("mail_refs") or []), own_id][-MAX_REFS:]}
        if d["status"] == "waiting":
            changed = domain.status_changed(changed, "open", now)
        elif d["status"] in ("resolved", "closed"):
            changed = {**domain.reopened(changed, now), "reopen_reason": "the customer wrote again"}
        return escalation.with_next_alarm(changed, now)

    updated = await store.mutate("tickets", ticket["id"], apply)
    evs: list[Envelope] = [events.commented(updated, comment)]
    await store.insert("ticket_comments", comment, events=evs)


# ---- outbound -----------------------------------------------------------------------------------
def reply_message(service, ticket: dict, comment: dict) -> EmailMessage:
    sender = service.settings.mail_from
    domain_part = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    refs = ticket.get("mail_refs") or []
    headers = {}
    if ticket.get("last_message_id"):
        headers["In-Reply-To"] = f"<{ticket['last_message_id']}>"
    if refs:
        headers["References"] = " ".join(f"<{r}>" for r in refs)
    headers["Auto-Submitted"] = "no"
    subject = ticket["subject"]
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    return make_message(
        sender=sender,
        to=ticket["requester_email"],
        subject=f"{subject} [#{ticket['id']}]",
        text=comment["body"],
        headers=headers,
        message_id=f"<comment-{comment['id'].lower()}@{domain_part}>",
    )


async def reply_out(service, ticket: dict, comment: dict) -> dict:
    """Send a staff reply to the ticket's requester (e-mail tickets); the comment records the
    outcome. The message id is remembered, so the customer's answer threads onto the ticket."""
    if not ticket.get("requester_email"):
        return {}
    mailer = Mailer(service.settings.smtp_url)
    if not mailer.enabled:
        return {"mail_status": "not sent: no SMTP_URL"}
    msg = reply_message(service, ticket, comment)
    mid = message_ids(str(msg["Message-ID"]))[0]
    try:
        await mailer.send(msg)
    except MailError as exc:
        log.warning("reply to %s failed: %s", ticket["id"], exc)
        return {"mail_status": f"failed: {exc}", "message_id": mid}
    await _save_thread(service.store, mid, ticket["id"])

    def apply(d: dict) -> dict:
        return {**d, "last_message_id": mid, "mail_refs": [*(d.get("mail_refs") or []), mid][-MAX_REFS:]}

    await service.store.mutate("tickets", ticket["id"], apply)
    return {"mail_status": "sent", "message_id": mid}


def recipients_of(msg: EmailMessage) -> list[str]:
    return [a for _, a in getaddresses([str(msg.get("To") or "")])]
