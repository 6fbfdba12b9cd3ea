"""Web-to-lead forms, the plain part (no strawberry import; tests/unit/test_marketing_forms.py):
form definitions, the checks of a public submission (bot signals, limits, required fields), the
lead request it becomes, and the embeddable HTML snippet."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from html import escape
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from services.common.errors import ErrorCode, InputError
from services.common.values import clean_text

MAX_BODY = 16 * 1024  # bytes of one submission
MAX_FIELDS = 30  # fields of one submission (form fields + the reserved ones)
MAX_FORM_FIELDS = 20
MAX_VALUE = 500
MAX_NOTES = 5000
MAX_AGE = 24 * 3600  # a rendered form older than this is refused (its token)
HONEYPOT = "website"  # invisible to people, filled by bots
TOKEN = "_ts"
CONSENT = "consent"
UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
RESERVED = {HONEYPOT, TOKEN, CONSENT, "referrer", *UTM}
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{5,30}$")


class MapsTo(Enum):
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    EMAIL = "email"
    PHONE = "phone"
    COMPANY_NAME = "company_name"
    NOTES = "notes"
    CUSTOM = "custom"  # kept in the lead's notes as "label: value"


@dataclass
class Rejected(Exception):
    """A refused submission: the HTTP status and a message safe to show (nothing is stored)."""

    status: int
    message: str


def _bad(msg: str, field: str) -> InputError:
    return InputError(ErrorCode.INVALID, msg, ["input", field])


def check_form(
    *,
    key: str,
    name: str,
    fields: list[dict],
    thank_you_url: str | None,
    consent_text: str | None,
    min_fill_seconds: int,
) -> dict:
    """A form definition, validated."""
    if not KEY_RE.match(key or ""):
        raise _bad("key: 2-63 characters a-z, 0-9 and '-'", "key")
    if not fields or len(fields) > MAX_FORM_FIELDS:
        raise _bad(f"a form has 1 to {MAX_FORM_FIELDS} fields", "fields")
    out, seen = [], set()
    for f in fields:
        fname = f.get("name") or ""
        if not NAME_RE.match(fname) or fname in RESERVED or fname in seen:
            raise _bad(
                f"field name {fname!r}: a-z, 0-9, '_', unique, not reserved ({', '.join(sorted(RESERVED))})", "fields"
            )
        seen.add(fname)
        maps = MapsTo(f.get("maps_to") or "custom")
        limit = int(f.get("max_length") or (MAX_NOTES if maps is MapsTo.NOTES else MAX_VALUE))
        if not 1 <= limit <= MAX_NOTES:
            raise _bad(f"max length of {fname} must lie between 1 and {MAX_NOTES}", "fields")
        out.append(
            {
                "name": fname,
                "maps_to": maps.value,
                "label": clean_text(f.get("label") or fname, "label", max_len=200),
                "required": bool(f.get("required")),
                "max_length": limit,
            }
        )
    if MapsTo.EMAIL.value not in {f["maps_to"] for f in out} and MapsTo.PHONE.value not in {f["maps_to"] for f in out}:
        raise _bad("a form needs an e-mail or a phone field (a lead must be reachable)", "fields")
    if thank_you_url:
        parts = urlsplit(thank_you_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(thank_you_url) > 2000:
            raise _bad("thankYouUrl must be an absolute http(s) URL", "thankYouUrl")
    if not 0 <= min_fill_seconds <= 600:
        raise _bad("minFillSeconds must lie between 0 and 600", "minFillSeconds")
    return {
        "key": key,
        "name": clean_text(name, "name", required=True),
        "fields": out,
        "thank_you_url": thank_you_url,
        "consent_text": clean_text(consent_text, "consentText", max_len=2000),
        "min_fill_seconds": min_fill_seconds,
    }


def _text(value, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Rejected(422, f"{field} must be text")
    try:
        return clean_text(value, field, max_len=limit) or None
    except InputError as exc:
        raise Rejected(422, exc.message) from None


def check_submission(form: dict, data: dict, *, now: float, rendered_at: float | None) -> dict:
    """The accepted submission (`values` by form field, `lead` fields, `utm`, `referrer`,
    `consent`), or Rejected. Bot signals (honeypot, too fast, no or stale render token) come first."""
    if not form.get("active", True):
        raise Rejected(404, "no such form")
    if len(data) > MAX_FIELDS:
        raise Rejected(413, "too many fields")
    if (data.get(HONEYPOT) or "").strip():
        raise Rejected(400, "submission refused")
    if rendered_at is None:
        raise Rejected(400, "submission refused: the form was not rendered by this site (missing or invalid token)")
    elapsed = now - rendered_at
    if elapsed < int(form.get("min_fill_seconds") or 0):
        raise Rejected(400, "submission refused: sent too fast")
    if elapsed > MAX_AGE:
        raise Rejected(400, "the form has expired: reload the page")
    known = {f["name"] for f in form["fields"]} | RESERVED
    unknown = sorted(k for k in data if k not in known)
    if unknown:
        raise Rejected(422, f"unknown fields: {', '.join(unknown[:5])}")
    values, lead, custom = {}, {}, []
    for f in form["fields"]:
        v = _text(data.get(f["name"]), f["label"], f["max_length"])
        if f["required"] and not v:
            raise Rejected(422, f"{f['label']} is required")
        if not v:
            continue
        values[f["name"]] = v
        maps = f["maps_to"]
        if maps == MapsTo.EMAIL.value:
            try:
                v = validate_email(v, check_deliverability=False).normalized.lower()
            except EmailNotValidError:
                raise Rejected(422, f"{f['label']} is not a valid e-mail address") from None
        if maps == MapsTo.PHONE.value and not PHONE_RE.match(v):
            raise Rejected(422, f"{f['label']} is not a valid phone number")
        if maps == MapsTo.CUSTOM.value:
            custom.append(f"{f['label']}: {v}")
        elif maps == MapsTo.NOTES.value:
            lead["notes"] = v
        else:
            lead[maps] = v
    if custom:
        lead["notes"] = "\n".join([*([lead["notes"]] if lead.get("notes") else []), *custom])
    if not lead.get("email") and not lead.get("phone"):
        raise Rejected(422, "an e-mail address or a phone number is required")
    utm = {k.removeprefix("utm_"): _text(data.get(k), k, 200) for k in UTM}
    consent = str(data.get(CONSENT) or "").lower() in ("1", "true", "on", "yes")
    return {
        "values": values,
        "lead": lead,
        "utm": utm,
        "referrer": _text(data.get("referrer"), "referrer", 2000),
        "consent": consent and bool(form.get("consent_text")),
    }


def lead_request(form: dict, sub: dict, *, contact: dict | None) -> dict:
    """The `marketing.lead.requested` payload of an accepted submission (the contract in
    docs/marketing.md). A known address links the existing contact; the submitter learns nothing."""
    lead = sub["lead"]
    return {
        "source": "web_form",
        "campaign_id": form.get("campaign_id"),
        "form_id": form["id"],
        "company_id": (contact or {}).get("company_id"),
        "contact_id": (contact or {}).get("id"),
        "company_name": lead.get("company_name"),
        "first_name": lead.get("first_name"),
        "last_name": lead.get("last_name"),
        "email": lead.get("email"),
        "phone": lead.get("phone"),
        "notes": lead.get("notes"),
        "utm": sub["utm"],
        "referrer": sub["referrer"],
        "consent": sub["consent"],
    }


def _input(f: dict) -> str:
    kind = {"email": "email", "phone": "tel"}.get(f["maps_to"], "text")
    req = " required" if f["required"] else ""
    label = escape(f["label"])
    if f["maps_to"] == MapsTo.NOTES.value:
        ctl = f'<textarea name="{f["name"]}" maxlength="{f["max_length"]}"{req}></textarea>'
    else:
        ctl = f'<input type="{kind}" name="{f["name"]}" maxlength="{f["max_length"]}"{req}>'
    return f"  <label>{label} {ctl}</label>\n"


def form_html(form: dict, action: str, token: str | None) -> str:
    """The form's HTML: its fields, the honeypot, the render token (filled by the snippet's script
    when `token` is None), hidden UTM and referrer fields, the consent checkbox."""
    key = escape(form["key"], quote=True)
    parts = [f'<form method="post" action="{escape(action, quote=True)}" data-turnkey-form="{key}">\n']
    parts += [_input(f) for f in form["fields"]]
    if form.get("consent_text"):
        parts.append(
            f'  <label><input type="checkbox" name="{CONSENT}" value="1"> {escape(form["consent_text"])}</label>\n'
        )
    parts.append(
        f'  <div style="position:absolute;left:-10000px" aria-hidden="true"><input type="text" name="{HONEYPOT}" '
        'tabindex="-1" autocomplete="off"></div>\n'
    )
    parts.append(f'  <input type="hidden" name="{TOKEN}" value="{escape(token or "", quote=True)}">\n')
    for k in (*UTM, "referrer"):
        parts.append(f'  <input type="hidden" name="{k}">\n')
    parts.append('  <button type="submit">Send</button>\n</form>\n')
    return "".join(parts)


def embed_snippet(form: dict, base_url: str) -> str:
    """What a web site pastes: the form, plus a script that fetches a fresh render token (the
    minimum fill time counts from it) and copies the page's UTM parameters and referrer."""
    action = f"{base_url}/forms/{form['key']}"
    key = escape(form["key"], quote=True)
    script = (
        f"<script>(function(){{var f=document.querySelector('[data-turnkey-form=\"{key}\"]');"
        "var q=new URLSearchParams(location.search);"
        "['utm_source','utm_medium','utm_campaign','utm_term','utm_content'].forEach(function(k){"
        "if(q.get(k))f.elements[k].value=q.get(k);});f.elements.referrer.value=document.referrer;"
        f"fetch('{action}/token').then(function(r){{return r.json();}})"
        ".then(function(j){f.elements._ts.value=j.token;});"
        "})();</script>\n"
    )
    return form_html(form, action, None) + script
