"""Deals' own settings (environment variables, read at start; tests change them on the running
service through `service.config`, which is read per request).

- `TURNKEY_FIRM_NAME`: the firm's name printed on estimates (default "Turnkey Design Bureau").
- `TURNKEY_OVERDUE_CRITICAL_DAYS`: a payment overdue more than this many days makes the client's
  health CRITICAL, which blocks new offers (default 30).
- `TURNKEY_SALES_MANAGERS`: comma-separated `sub`s of sales staff who may override the offer guard
  (admins always may).
- `TURNKEY_FORECAST_SNAPSHOT_DAYS`: days between scheduled forecast snapshots (default 7).
- `TURNKEY_DEALS_CURRENCY`: the currency of scheduled snapshots when no deal exists yet (default EUR).
- `TURNKEY_PARTNER_PROTECTION_DAYS`: how long an approved deal registration is exclusive (default 90)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _env(name: str, default: str) -> str:
    v = os.environ.get(name)
    return v if v not in (None, "") else default


@dataclass(frozen=True)
class DealsConfig:
    firm_name: str = "Turnkey Design Bureau"
    overdue_critical_days: int = 30
    sales_managers: frozenset[str] = field(default_factory=frozenset)
    snapshot_days: int = 7
    currency: str = "EUR"
    protection_days: int = 90  # an approved deal registration's exclusivity (docs/partners.md)

    @classmethod
    def from_env(cls) -> DealsConfig:
        return cls(
            firm_name=_env("TURNKEY_FIRM_NAME", cls.firm_name),
            overdue_critical_days=int(_env("TURNKEY_OVERDUE_CRITICAL_DAYS", "30")),
            sales_managers=frozenset(s.strip() for s in _env("TURNKEY_SALES_MANAGERS", "").split(",") if s.strip()),
            snapshot_days=int(_env("TURNKEY_FORECAST_SNAPSHOT_DAYS", "7")),
            currency=_env("TURNKEY_DEALS_CURRENCY", "EUR"),
            protection_days=int(_env("TURNKEY_PARTNER_PROTECTION_DAYS", "90")),
        )
