"""E-mail campaigns, the plain part (no strawberry import; tests/unit/test_marketing_mailing.py):
templates with merge fields rendered in jinja2's sandbox, the deterministic Message-ID, the
unsubscribe headers, tracking links, and the per-recipient state machine of a send.

Templates see only plain data (strings in dicts): `contact.name`, `contact.first_name`,
`contact.email`, `company.name`, `campaign.name`, `unsubscribe_url`. The sandbox refuses access
to Python internals (`__class__`, `mro`, `__globals__`...) and the template is rendered once with
sample data when the send is created, so a hostile or broken template is an input error before
anything is queued."""

from __future__ import annotations

import functools
import re
from enum import Enum
from html import escape

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from services.common.errors import ErrorCode, InputError

MAX_TEMPLATE = 100_000
MAX_SUBJECT = 300


class SendState(Enum):
    PREPARING = "preparing"  # the audience is being expanded into deliveries
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    DONE = "done"


class DeliveryStatus(Enum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by a sender (lease); the one uncertain moment (docs/marketing.md)
    SENT = "sent"
    OPENED = "opened"
    CLICKED = "clicked"
    BOUNCED = "bounced"  # refused permanently by the SMTP server
    FAILED = "failed"  # temporary failures, retries exhausted
    SKIPPED = "skipped"  # not sent: no consent etc. (reason)
    UNKNOWN = "unknown"  # a sender died during the SMTP transaction: not resent automatically
    CANCELLED = "cancelled"


# statuses counted as "delivered to the SMTP server"
DELIVERED = {DeliveryStatus.SENT.value, DeliveryStatus.OPENED.value, DeliveryStatus.CLICKED.value}
FINAL = DELIVERED | {
    s.value
    for s in (
        DeliveryStatus.BOUNCED,
        DeliveryStatus.FAILED,
        DeliveryStatus.SKIPPED,
        DeliveryStatus.UNKNOWN,
        DeliveryStatus.CANCELLED,
    )
}
# an open or click can arrive before the sender has recorded SENT (the server accepted the message)
_RANK = {
    DeliveryStatus.SENDING.value: 0,
    DeliveryStatus.SENT.value: 1,
    DeliveryStatus.OPENED.value: 2,
    DeliveryStatus.CLICKED.value: 3,
}

# sandboxed, immutable (no list.append / dict.update), unknown names and refused attributes are
# errors (not silent blanks), and no globals at all (no cycler/lipsum/namespace/range to climb from)
_env = ImmutableSandboxedEnvironment(autoescape=False, undefined=StrictUndefined)
_html_env = ImmutableSandboxedEnvironment(autoescape=True, undefined=StrictUndefined)
for _e in (_env, _html_env):
    _e.globals.clear()

SAMPLE = {
    "contact": {"name": "Ada Example", "first_name": "Ada", "last_name": "Example", "email": "ada@example.com"},
    "company": {"name": "Example Ltd"},
    "campaign": {"name": "Sample campaign"},
    "unsubscribe_url": "https://example.com/m/u/sample",
}


def _compile(source: str, html: bool, field: str):
    if len(source) > MAX_TEMPLATE:
        raise InputError(ErrorCode.INVALID, f"{field} is longer than {MAX_TEMPLATE} characters", ["input", field])
    try:
        return _compiled(source, html)
    except TemplateError as exc:
        raise InputError(ErrorCode.INVALID, f"{field}: {exc}", ["input", field]) from None


@functools.lru_cache(maxsize=64)
def _compiled(source: str, html: bool):
    """One compilation per template text (a send renders the same templates for every recipient)."""
    return (_html_env if html else _env).from_string(source)


def render(source: str, context: dict, *, html: bool = False, field: str = "template") -> str:
    """The template rendered with plain data; any template error or sandbox refusal (a template
    reaching for Python objects) is an InputError."""
    tpl = _compile(source, html, field)
    try:
        return tpl.render(**context)
    except Exception as exc:  # SecurityError, UndefinedError, TypeError from a hostile template...
        raise InputError(ErrorCode.INVALID, f"{field}: {type(exc).__name__}: {exc}", ["input", field]) from None


def check_templates(subject: str, text: str, html: str | None) -> None:
    """Render each template once with sample data (refuses bad or hostile templates up front)."""
    if not subject.strip() or len(subject) > MAX_SUBJECT:
        raise InputError(ErrorCode.INVALID, f"subject must have 1 to {MAX_SUBJECT} characters", ["input", "subject"])
    if not text.strip():
        raise InputError(ErrorCode.INVALID, "text must not be empty", ["input", "text"])
    render(subject, SAMPLE, field="subject")
    render(text, SAMPLE, field="text")
    if html is not None:
        render(html, SAMPLE, html=True, field="html")


def merge_context(contact: dict, company: dict | None, campaign: dict, unsubscribe_url: str) -> dict:
    name = contact.get("name") or ""
    first, _, last = name.partition(" ")
    return {
        "contact": {"name": name, "first_name": first, "last_name": last, "email": contact.get("email") or ""},
        "company": {"name": (company or {}).get("name") or ""},
        "campaign": {"name": campaign.get("name") or ""},
        "unsubscribe_url": unsubscribe_url,
    }


def message_id(send_id: str, contact_id: str, domain: str) -> str:
    """The same Message-ID for every attempt at one recipient of one send: a copy the SMTP server
    accepted before a crash is recognisable as the same message (docs/marketing.md)."""
    return f"<{send_id}.{contact_id}@{domain or 'turnkey.local'}>"


def sender_domain(mail_from: str) -> str:
    m = re.search(r"@([A-Za-z0-9.-]+)", mail_from or "")
    return m.group(1) if m else "turnkey.local"


def unsubscribe_headers(url: str, mailto: str | None = None) -> dict[str, str]:
    """RFC 2369 `List-Unsubscribe` and RFC 8058 one-click `List-Unsubscribe-Post`."""
    targets = [f"<{url}>"] + ([f"<mailto:{mailto}?subject=unsubscribe>"] if mailto else [])
    return {"List-Unsubscribe": ", ".join(targets), "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


_HREF = re.compile(r'href="(https?://[^"]+)"', re.I)


def track_links(html: str, link: callable) -> str:
    """Every absolute http(s) link of the HTML replaced by `link(url)` (a signed redirect)."""
    return _HREF.sub(lambda m: f'href="{escape(link(m.group(1)), quote=True)}"', html)


def add_pixel(html: str, url: str) -> str:
    tag = f'<img src="{escape(url, quote=True)}" width="1" height="1" alt="" style="display:none">'
    return html.replace("</body>", tag + "</body>") if "</body>" in html else html + tag


def advance(current: str, to: str) -> str | None:
    """A delivery's status after an open or click (never goes back: clicked stays clicked)."""
    if current not in _RANK or _RANK[to] <= _RANK[current]:
        return None
    return to


def retry_delay(attempt: int) -> float:
    """Seconds before the next attempt after a temporary failure (exponential, capped)."""
    return min(300.0, 2.0**attempt)
