"""Signed links (unsubscribe, click tracking, survey): itsdangerous' URL-safe timed serializer,
HMAC-SHA256 over the JSON payload with a purpose-specific salt, so a token made for one purpose
never passes for another.

The secret: `TURNKEY_LINK_SECRET` (required outside development: `sign`/`verify` raise
`LinkSecretMissing` without it), else in development a random secret created once in
`$TURNKEY_DATA_DIR/keys/link-secret` (mode 0600, safe when several processes start at once)."""

from __future__ import annotations

import os
import secrets
import uuid
from functools import lru_cache
from pathlib import Path

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

from .settings import Settings


class BadSignature(ValueError):
    """A tampered, expired or foreign token (one message for all: callers answer the same way)."""


class LinkSecretMissing(RuntimeError):
    pass


@lru_cache(maxsize=8)
def _file_secret(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)  # another process may have won the race: keep theirs
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def _secret(settings: Settings) -> str:
    if settings.link_secret:
        return settings.link_secret
    if not settings.development:
        raise LinkSecretMissing("TURNKEY_LINK_SECRET is required outside development")
    return _file_secret(Path(settings.data_dir) / "keys" / "link-secret")


def _serializer(settings: Settings, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_secret(settings), salt=f"turnkey.{purpose}")


def sign(settings: Settings, purpose: str, payload: dict, ttl_seconds: int | None = None) -> str:
    """A URL-safe token carrying `payload` (readable by anyone holding it: put ids, not secrets)."""
    return _serializer(settings, purpose).dumps({"p": payload, "ttl": ttl_seconds})


def verify(settings: Settings, purpose: str, token: str) -> dict:
    """The payload of a token made by `sign` for this purpose; BadSignature otherwise."""
    s = _serializer(settings, purpose)
    try:
        body, _ts = s.loads(token, return_timestamp=True)
        ttl = body.get("ttl") if isinstance(body, dict) else None
        if ttl is not None:
            s.loads(token, max_age=int(ttl))
    except SignatureExpired as exc:
        raise BadSignature("invalid or expired link") from exc
    except (BadData, TypeError, ValueError) as exc:
        raise BadSignature("invalid or expired link") from exc
    if not isinstance(body, dict) or not isinstance(body.get("p"), dict):
        raise BadSignature("invalid or expired link")
    return body["p"]
