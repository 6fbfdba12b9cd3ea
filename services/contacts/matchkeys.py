"""Contacts' match keys: the shared functions of services/common/matchkeys.py (deals' conflict
detection uses the same), re-exported under their old name."""

from services.common.matchkeys import (
    KEY_FIELDS,
    company_domain_of_email,
    domain_key,
    email_key,
    external_key,
    name_key,
    phone_key,
    registration_key,
)

__all__ = [
    "KEY_FIELDS",
    "company_domain_of_email",
    "domain_key",
    "email_key",
    "external_key",
    "name_key",
    "phone_key",
    "registration_key",
]
