"""Token verification (services/common/auth.py). No servers: real keys, real PyJWT."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from services.common import auth
from services.common.settings import Settings


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(service="contacts", data_dir=tmp_path)


def bearer(token: str) -> str:
    return f"Bearer {token}"


async def test_round_trip_and_claims(settings):
    v = auth.Verifier(settings)
    p = await v.verify(bearer(auth.mint(settings, role="partner", sub="tom@kestrel", company="C1", name="Tom")))
    assert (p.sub, p.role, p.company, p.contact, p.name) == ("tom@kestrel", "partner", "C1", None, "Tom")
    assert p.is_portal and not p.is_staff and p.token_id
    c = await v.verify(bearer(auth.mint(settings, role="customer", sub="mats", company="C2", contact="K2")))
    assert (c.company, c.contact) == ("C2", "K2")


async def test_key_is_created_once_and_kept(settings):
    first = auth.ensure_local_keys(settings).read_bytes()
    assert auth.ensure_local_keys(settings).read_bytes() == first
    assert oct(auth.private_key_path(settings).stat().st_mode & 0o777) == "0o600"


def _claims(settings, **over):
    now = dt.datetime.now(dt.UTC)
    base = {
        "sub": "x",
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "exp": now + dt.timedelta(hours=1),
        "role": "admin",
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def _local_key(settings):
    auth.ensure_local_keys(settings)
    return serialization.load_pem_private_key(auth.private_key_path(settings).read_bytes(), password=None)


def _sign(settings, claims, key=None, alg="ES256", kid=None):
    key = key or _local_key(settings)
    if kid is None and hasattr(key, "public_key"):
        kid = auth._kid(key.public_key()) if isinstance(key, ec.EllipticCurvePrivateKey) else "other"
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid} if kid else None)


def _unsigned(claims) -> str:
    def enc(d: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(d, default=str).encode()).rstrip(b"=").decode()

    return f"{enc({'alg': 'none', 'typ': 'JWT'})}.{enc({**claims, 'exp': 4102444800})}."


def bad_tokens(settings) -> dict[str, str | None]:
    """Every way a caller could try to pass as somebody (also used by the gateway tests)."""
    now = dt.datetime.now(dt.UTC)
    other = ec.generate_private_key(ec.SECP256R1())
    pub_pem = auth.public_key_path(settings).read_bytes() if auth.public_key_path(settings).exists() else b"x"
    return {
        "missing": None,
        "not a jwt": "Bearer not-a-token",
        "basic scheme": "Basic YWRtaW46YWRtaW4=",
        "alg none": bearer(_unsigned(_claims(settings))),
        "other key, same kid": bearer(
            _sign(settings, _claims(settings), key=other, kid=auth._kid(_local_key(settings).public_key()))
        ),
        "other key, own kid": bearer(_sign(settings, _claims(settings), key=other)),
        "HS256 with the public key as secret": bearer(_hs256(_claims(settings), pub_pem)),
        "expired": bearer(_sign(settings, _claims(settings, exp=now - dt.timedelta(minutes=5)))),
        "wrong issuer": bearer(_sign(settings, _claims(settings, iss="evil"))),
        "wrong audience": bearer(_sign(settings, _claims(settings, aud="other-app"))),
        "no subject": bearer(_sign(settings, _claims(settings, sub=None))),
        "unknown role": bearer(_sign(settings, _claims(settings, role="root"))),
        "partner without company": bearer(_sign(settings, _claims(settings, role="partner"))),
        "staff bound to a company": bearer(_sign(settings, _claims(settings, role="sales", company="C1"))),
        "company claim not a string": bearer(_sign(settings, _claims(settings, role="customer", company=["C1", "C2"]))),
        "tampered payload": bearer(_tamper(_sign(settings, _claims(settings, role="partner", company="C1")))),
    }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256(claims: dict, secret: bytes) -> str:
    """The algorithm-confusion attack, signed by hand (PyJWT refuses to make such a token)."""
    import hashlib
    import hmac

    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims, default=lambda d: int(d.timestamp())).encode())
    sig = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"


def _tamper(token: str) -> str:
    h, p, s = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    claims.pop("company")
    claims["role"] = "admin"
    p2 = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{h}.{p2}.{s}"


async def test_every_forgery_is_refused(settings):
    v = auth.Verifier(settings)
    for name, header in bad_tokens(settings).items():
        with pytest.raises(auth.AuthError):
            await v.verify(header)
            pytest.fail(f"accepted: {name}")


async def test_claim_namespace(settings):
    ns = dataclasses.replace(settings, jwt_claim_namespace="https://crm.example.com/")
    token = auth.mint(ns, role="support", sub="sam")
    assert "https://crm.example.com/role" in jwt.decode(token, options={"verify_signature": False})
    assert (await auth.Verifier(ns).verify(bearer(token))).role == "support"
    with pytest.raises(auth.AuthError):  # the plain claim is not read when a namespace is configured
        await auth.Verifier(ns).verify(bearer(auth.mint(settings, role="admin", sub="x")))


async def test_jwks_rotation_by_kid(tmp_path):
    """Production mode: keys from a JWKS URL; a token with a new kid makes the verifier fetch the
    set again (key rotation without restart). Served by a real HTTP server on loopback."""
    import http.server
    import threading

    keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048)]

    def jwks() -> bytes:
        out = []
        for i, k in enumerate(keys):
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(k.public_key()))
            out.append({**jwk, "kid": f"k{i}", "alg": "RS256", "use": "sig"})
        return json.dumps({"keys": out}).encode()

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = jwks()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        s = Settings(
            service="contacts",
            data_dir=tmp_path,
            jwks_url=f"http://127.0.0.1:{server.server_port}/jwks",
            jwt_issuer="https://idp.example.com/",
            jwt_audience="turnkey",
            jwks_cooldown=0,
        )
        v = auth.Verifier(s)
        claims = _claims(s, role="sales")
        assert (await v.verify(bearer(jwt.encode(claims, keys[0], "RS256", headers={"kid": "k0"})))).role == "sales"
        keys.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))  # the provider rotates
        assert (await v.verify(bearer(jwt.encode(claims, keys[1], "RS256", headers={"kid": "k1"})))).role == "sales"
        with pytest.raises(auth.AuthError):
            await v.verify(
                bearer(
                    jwt.encode(
                        claims,
                        rsa.generate_private_key(public_exponent=65537, key_size=2048),
                        "RS256",
                        headers={"kid": "k9"},
                    )
                )
            )
        assert not (tmp_path / "keys").exists()  # production mode never creates a local key
    finally:
        server.shutdown()


def test_token_cli(tmp_path, monkeypatch, capsys):
    from devtools import token as cli

    monkeypatch.setenv("TURNKEY_DATA_DIR", str(tmp_path))
    assert cli.main(["--role", "customer", "--sub", "mats", "--company", "C1", "--contact", "K1", "--ttl", "15m"]) == 0
    printed = capsys.readouterr().out.strip()
    claims = jwt.decode(printed, options={"verify_signature": False})
    assert claims["role"] == "customer" and claims["contact"] == "K1"
    assert 14 * 60 <= claims["exp"] - claims["iat"] <= 15 * 60
    assert cli.main(["--role", "partner", "--sub", "tom"]) == 2  # a partner needs its company
