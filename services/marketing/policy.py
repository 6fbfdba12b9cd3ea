"""Who sees which marketing rows (services/common/authz.py): marketing is staff work, all of it;
partners and customers see none of it."""

from __future__ import annotations

from services.common.auth import Principal
from services.common.authz import ALL_ROWS, NO_ROWS, STAFF
from services.common.settings import Settings


def row_scope(settings: Settings, p: Principal, coll: str) -> dict:
    return ALL_ROWS if p.role in STAFF else NO_ROWS
