"""Consent per contact and channel (plain rules, unit-tested in tests/unit/test_marketing_mailing.py).

One record per channel and address: e-mail consent is keyed by the normalised address (a web-form
visitor gives consent before contacts has made a contact of them, and two contacts sharing an
address share its consent), phone consent by the contact id. Each record keeps its status, the
source and time of the last change and its proof (who/what/where: the form, the IP and user agent,
the unsubscribe link, the user who recorded it), plus the history of earlier changes.

A campaign sends only where the status is GRANTED; everyone else is skipped with the reason."""

from __future__ import annotations

from enum import Enum

from services.common.errors import ErrorCode, InputError

HISTORY_KEEP = 20


class ConsentChannel(Enum):
    EMAIL = "email"
    PHONE = "phone"


class ConsentStatus(Enum):
    GRANTED = "granted"
    PENDING = "pending"  # double opt-in: asked, not confirmed yet
    WITHDRAWN = "withdrawn"


class ConsentSource(Enum):
    MANUAL = "manual"
    IMPORT = "import"
    WEB_FORM = "web_form"
    DOUBLE_OPT_IN = "double_opt_in"
    UNSUBSCRIBE_LINK = "unsubscribe_link"
    CALL = "call"


class SkipReason(Enum):
    NO_CONSENT = "no_consent"  # never asked / no record
    CONSENT_PENDING = "consent_pending"  # double opt-in not confirmed
    CONSENT_WITHDRAWN = "consent_withdrawn"  # unsubscribed
    NO_EMAIL = "no_email"
    DUPLICATE_EMAIL = "duplicate_email"  # another recipient of this send has the same address


def address_key(channel: ConsentChannel, *, email: str | None = None, contact_id: str | None = None) -> str:
    if channel is ConsentChannel.EMAIL:
        if not email:
            raise InputError(ErrorCode.INVALID, "e-mail consent needs an e-mail address", ["input", "contactId"])
        return f"email:{email.strip().lower()}"
    if not contact_id:
        raise InputError(ErrorCode.INVALID, "phone consent needs a contact", ["input", "contactId"])
    return f"phone:{contact_id}"


def changed(
    current: dict | None,
    *,
    channel: ConsentChannel,
    status: ConsentStatus,
    source: ConsentSource,
    at: str,
    proof: str | None,
    contact_id: str | None,
    address: str | None,
) -> dict | None:
    """The consent record after a change (None: nothing changes). A pending request never
    downgrades a granted consent; a withdrawal always wins."""
    if current and current.get("status") == ConsentStatus.GRANTED.value and status is ConsentStatus.PENDING:
        return None
    if current and current.get("status") == status.value and current.get("source") == source.value:
        return None
    history = list((current or {}).get("history") or [])
    if current:
        history.append({k: current.get(k) for k in ("status", "source", "at", "proof")})
    return {
        **(current or {}),
        "channel": channel.value,
        "address": address,
        "contact_id": contact_id or (current or {}).get("contact_id"),
        "status": status.value,
        "source": source.value,
        "at": at,
        "proof": proof,
        "history": history[-HISTORY_KEEP:],
    }


def skip_reason(email: str | None, consent: dict | None) -> SkipReason | None:
    """Why a recipient is not sent to (None: send)."""
    if not email:
        return SkipReason.NO_EMAIL
    if consent is None:
        return SkipReason.NO_CONSENT
    status = consent.get("status")
    if status == ConsentStatus.GRANTED.value:
        return None
    if status == ConsentStatus.PENDING.value:
        return SkipReason.CONSENT_PENDING
    return SkipReason.CONSENT_WITHDRAWN
