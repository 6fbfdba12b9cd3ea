"""Twelve-factor settings: everything comes from environment variables (see README)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PORTS = {"contacts": 4001, "deals": 4002, "marketing": 4003, "support": 4004}


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    service: str
    host: str = "127.0.0.1"
    port: int = 0
    data_dir: Path = field(default_factory=lambda: Path(".data"))
    mongodb_url: str | None = None
    amqp_url: str | None = None
    exchange: str = "turnkey"
    log_level: str = "INFO"
    env: str = "development"
    relay_interval: float = 1.0
    max_deliveries: int = 5
    db_prefix: str = "turnkey"
    jwks_url: str | None = None
    jwks_cooldown: float = 30.0
    jwt_issuer: str = "turnkey-local"
    jwt_audience: str = "turnkey"
    jwt_algorithms: tuple[str, ...] = ("ES256", "RS256")
    jwt_claim_namespace: str = ""
    jwt_private_key_file: str | None = None
    jwt_public_key_file: str | None = None
    sales_own_book: bool = False
    max_depth: int = 15
    max_aliases: int = 60
    max_tokens: int = 5000
    max_fields: int = 5000
    max_directives: int = 50
    max_duplicate_fields: int = 5
    max_cost: int = 50000
    max_body_bytes: int = 1024 * 1024
    request_timeout: float = 30.0
    scheduler_enabled: bool = True
    scheduler_interval: float = 1.0
    smtp_url: str | None = None
    mail_from: str = "Turnkey CRM <crm@localhost>"
    link_secret: str | None = None
    public_url: str = "http://127.0.0.1:4000"

    @property
    def development(self) -> bool:
        return self.env == "development"

    @property
    def db_name(self) -> str:
        """One database per service (docs/architecture.md)."""
        return f"{self.db_prefix}_{self.service}"

    @classmethod
    def from_env(cls, service: str) -> Settings:
        up = service.upper()
        return cls(
            service=service,
            host=_env(f"{up}_HOST", _env("TURNKEY_HOST", "127.0.0.1")),
            port=int(_env(f"{up}_PORT", str(DEFAULT_PORTS.get(service, 0)))),
            data_dir=Path(_env("TURNKEY_DATA_DIR", ".data")),
            mongodb_url=_env("MONGODB_URL"),
            amqp_url=_env("AMQP_URL"),
            exchange=_env("TURNKEY_EXCHANGE", "turnkey"),
            log_level=_env("LOG_LEVEL", "INFO").upper(),
            env=_env("TURNKEY_ENV", "development"),
            relay_interval=float(_env("TURNKEY_RELAY_INTERVAL", "1.0")),
            max_deliveries=int(_env("TURNKEY_MAX_DELIVERIES", "5")),
            db_prefix=_env("TURNKEY_DB_PREFIX", "turnkey"),
            jwks_url=_env("TURNKEY_JWKS_URL"),
            jwks_cooldown=float(_env("TURNKEY_JWKS_COOLDOWN_SECONDS", "30")),
            jwt_issuer=_env("TURNKEY_JWT_ISSUER", "turnkey-local"),
            jwt_audience=_env("TURNKEY_JWT_AUDIENCE", "turnkey"),
            jwt_algorithms=tuple(
                a.strip() for a in _env("TURNKEY_JWT_ALGORITHMS", "ES256,RS256").split(",") if a.strip()
            ),
            jwt_claim_namespace=_env("TURNKEY_JWT_CLAIM_NAMESPACE", ""),
            jwt_private_key_file=_env("TURNKEY_JWT_PRIVATE_KEY_FILE"),
            jwt_public_key_file=_env("TURNKEY_JWT_PUBLIC_KEY_FILE"),
            sales_own_book=_env("TURNKEY_SALES_OWN_BOOK", "false").lower() in ("1", "true", "yes"),
            max_depth=int(_env("TURNKEY_SUBGRAPH_MAX_DEPTH", "15")),
            max_aliases=int(_env("TURNKEY_SUBGRAPH_MAX_ALIASES", "60")),
            max_tokens=int(_env("TURNKEY_SUBGRAPH_MAX_TOKENS", "5000")),
            max_fields=int(_env("TURNKEY_SUBGRAPH_MAX_FIELDS", "5000")),
            max_directives=int(_env("TURNKEY_SUBGRAPH_MAX_DIRECTIVES", "50")),
            max_duplicate_fields=int(_env("TURNKEY_SUBGRAPH_MAX_DUPLICATE_FIELDS", "5")),
            max_cost=int(_env("TURNKEY_SUBGRAPH_MAX_COST", "50000")),
            max_body_bytes=int(_env("TURNKEY_SUBGRAPH_MAX_BODY_BYTES", str(1024 * 1024))),
            request_timeout=float(_env("TURNKEY_SUBGRAPH_TIMEOUT_SECONDS", "30")),
            scheduler_enabled=_env("TURNKEY_SCHEDULER", "on").lower() not in ("0", "off", "false", "no"),
            scheduler_interval=float(_env("TURNKEY_SCHEDULER_INTERVAL", "1.0")),
            smtp_url=_env("SMTP_URL"),
            mail_from=_env("TURNKEY_MAIL_FROM", "Turnkey CRM <crm@localhost>"),
            link_secret=_env("TURNKEY_LINK_SECRET"),
            public_url=_env("TURNKEY_PUBLIC_URL", "http://127.0.0.1:4000").rstrip("/"),
        )
