"""Mint a token signed with this installation's local key (the embedded default; in production
tokens come from your OIDC provider and this command is not used).

    python -m devtools token --role admin --sub alice
    python -m devtools token --role partner --sub tom@kestrel --company <partner company id>
    python -m devtools token --role customer --sub mats@nordhaven --company <id> --contact <id> --ttl 30d

Reads TURNKEY_DATA_DIR (default .data) for the key, which is created on first use, and
TURNKEY_JWT_ISSUER / TURNKEY_JWT_AUDIENCE / TURNKEY_JWT_CLAIM_NAMESPACE like the services.
Prints the token on stdout."""

from __future__ import annotations

import argparse
import sys

from services.common import auth
from services.common.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools token", description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", required=True, choices=auth.ROLES)
    parser.add_argument("--sub", required=True, help="the user id (who the audit log will name)")
    parser.add_argument("--company", help="partner/customer: the company the token is bound to")
    parser.add_argument("--contact", help="customer: the contact the token is bound to (optional)")
    parser.add_argument("--name", help="display name")
    parser.add_argument("--ttl", default="8h", help="lifetime: 90s, 15m, 8h, 30d (default 8h)")
    args = parser.parse_args(argv)
    settings = Settings.from_env("contacts")
    if settings.jwks_url:
        print("TURNKEY_JWKS_URL is set: tokens come from your OIDC provider, not from this command", file=sys.stderr)
        return 2
    try:
        print(
            auth.mint(
                settings,
                role=args.role,
                sub=args.sub,
                company=args.company,
                contact=args.contact,
                name=args.name,
                ttl=auth.parse_ttl(args.ttl),
            )
        )
    except (auth.AuthError, ValueError) as exc:
        print(f"cannot mint: {exc}", file=sys.stderr)
        return 2
    return 0
