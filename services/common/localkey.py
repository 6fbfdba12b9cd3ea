"""The local key pair of the embedded default (production verifies with the OIDC provider's key
set instead): created once in `$TURNKEY_DATA_DIR/keys/`, safe when several processes start at once,
named by its RFC 7638 thumbprint (`kid`) — the gateway computes the same (gateway.config.mjs)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .settings import Settings


def private_key_path(settings: Settings) -> Path:
    return Path(settings.jwt_private_key_file or settings.data_dir / "keys" / "jwt-signing.pem")


def public_key_path(settings: Settings) -> Path:
    return Path(settings.jwt_public_key_file or settings.data_dir / "keys" / "jwt-public.pem")


def kid_of(public_key) -> str:
    """RFC 7638 thumbprint of the public key, so the same key always has the same `kid`."""
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public_key))
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()[:16]


def ensure_local_keys(settings: Settings) -> Path:
    """Create the local signing key on first run (idempotent; safe when several processes start
    at once: the private key is written to a temporary file and linked into place exclusively)."""
    priv, pub = private_key_path(settings), public_key_path(settings)
    if not priv.exists():
        priv.parent.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        tmp = priv.with_name(f".{priv.name}.{uuid.uuid4().hex}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        try:
            os.link(tmp, priv)  # fails if another process won the race: keep theirs
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = serialization.load_pem_private_key(priv.read_bytes(), password=None)
    pem_pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    if not pub.exists() or pub.read_bytes() != pem_pub:
        pub.parent.mkdir(parents=True, exist_ok=True)
        tmp = pub.with_name(f".{pub.name}.{uuid.uuid4().hex}")
        tmp.write_bytes(pem_pub)
        tmp.replace(pub)
    return pub
