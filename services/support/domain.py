"""Support's plain rules (no strawberry import): ticket states and who may write what.
Unit-tested in tests/unit/test_support_domain.py."""

from __future__ import annotations

from enum import Enum

from services.common.errors import ErrorCode, InputError


class TicketPriority(Enum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


class TicketStatus(Enum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = ["open", "in_progress", "waiting"]
MAX_TEXT = 20_000  # description, resolution and comment bodies


def ticket_contact(requested: str | None, *, own_contact: str | None) -> str | None:
    """The contact a new ticket is filed for. A customer token bound to a contact files as that
    contact; naming a colleague is answered as if the colleague did not exist."""
    if own_contact is None:
        return requested
    if requested not in (None, own_contact):
        raise InputError(ErrorCode.UNKNOWN_REFERENCE, f"contact {requested} does not exist", ["input", "contactId"])
    return own_contact


def resolved(ticket: dict, resolution: str, now: str) -> dict:
    """The ticket resolved: only an open (or in-progress, waiting) ticket can be."""
    if ticket["status"] not in OPEN_STATUSES:
        raise InputError(ErrorCode.INVALID, f"the ticket is {ticket['status']} already", ["input", "id"])
    return {**ticket, "status": "resolved", "resolution": resolution, "resolved_at": now}


def comment(id: str, ticket: dict, body: str, *, internal: bool, author: str, role: str, by_staff: bool) -> dict:
    """A comment on `ticket`. Internal notes are staff's; customers comment publicly."""
    if internal and not by_staff:
        raise InputError(ErrorCode.NOT_ALLOWED, "only staff write internal notes", ["input", "internal"])
    return {
        "id": id,
        "ticket_id": ticket["id"],
        "company_id": ticket["company_id"],
        "contact_id": ticket.get("contact_id"),
        "body": body,
        "internal": internal,
        "author": author,
        "author_role": role,
    }
