"""Token verification (services/common/auth.py). No servers: real keys, real PyJWT. The token rule
is tested from tests/token_cases.json, the table the gateway is tested with too
(tests/gateway/test_gateway_hardening.py), so that both refuse exactly the same tokens."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import re
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

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
        kid = auth.kid_of(key.public_key()) if isinstance(key, ec.EllipticCurvePrivateKey) else "other"
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
            _sign(settings, _claims(settings), key=other, kid=auth.kid_of(_local_key(settings).public_key()))
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


# ---- the token rule, from the shared table ------------------------------------------------------
TOKEN_CASES: list[dict] = json.loads((Path(__file__).resolve().parents[1] / "token_cases.json").read_text())["cases"]
NAMESPACED = ("role", "company", "contact", "name")
_REMOVE = object()


def _case_value(settings, value, now: int):
    """A value of the table with its @-placeholders filled in (see token_cases.json "about")."""
    if isinstance(value, list):
        return [_case_value(settings, v, now) for v in value]
    if not isinstance(value, str) or not value.startswith("@"):
        return value
    if value == "@iss":
        return settings.jwt_issuer
    if value == "@aud":
        return settings.jwt_audience
    if value == "@kid":
        return auth.kid_of(_local_key(settings).public_key())
    if value == "@null":
        return None
    if m := re.fullmatch(r"@nested:(\d+)", value):
        nested: list = []
        for _ in range(int(m.group(1)) - 2):  # the payload object and the innermost list are two levels
            nested = [nested]
        return nested
    m = re.fullmatch(r"@now([+-]\d+)?(:str)?", value)
    assert m, f"unknown placeholder {value}"
    t = now + int(m.group(1) or 0)
    return str(t) if m.group(2) else t


def _members(settings, base: dict, changes: dict, now: int, namespaced: bool = False) -> dict:
    out = dict(base)
    for k, v in changes.items():
        key = f"{settings.jwt_claim_namespace}{k}" if namespaced and k in NAMESPACED else k
        if v is None:
            out.pop(key, None)
        else:
            out[key] = _case_value(settings, v, now)
    return out


def _es256(key, signing_input: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def token_case_header(settings, case: dict) -> str | None:
    """The Authorization header of one case of tests/token_cases.json (None: no header)."""
    now = int(time.time())
    jose = _members(settings, {"alg": "ES256", "typ": "JWT", "kid": "@kid"}, case.get("jose", {}), now)
    jose = {k: _case_value(settings, v, now) for k, v in jose.items()}
    base = {
        "sub": "table.user",
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + 3600,
        "jti": "table-jti",
        f"{settings.jwt_claim_namespace}role": "admin",
    }
    claims = _members(settings, base, case.get("claims", {}), now, namespaced=True)
    key = ec.generate_private_key(ec.SECP256R1()) if case.get("key") == "other" else _local_key(settings)

    def token(pad: int | None = None) -> str:
        payload = case.get("payload_raw") or json.dumps(
            {**claims, **({"pad": "x" * pad} if pad else {})}, separators=(",", ":"), ensure_ascii=False
        )
        if "payload_suffix" in case:
            payload = payload[:-1] + case["payload_suffix"] + "}"
        payload = case.get("payload_prefix", "") + payload
        signing_input = (
            f"{_b64(json.dumps(jose).encode())}.{_b64(payload.encode(case.get('payload_encoding', 'utf-8')))}"
        )
        signature = _b64(_es256(key, signing_input.encode()))
        mutate = case.get("mutate")
        if mutate == "no_signature":
            signature = ""
        elif mutate == "pad_signature":
            signature += "="
        elif mutate == "extra_segment":
            signature += ".e30"
        elif mutate:
            raise AssertionError(f"unknown mutation {mutate}")
        return f"{signing_input}.{signature}"

    text = token()
    if "pad_to" in case:  # the longest token up to pad_to characters
        limit, pad = case["pad_to"], 1
        while len(token(pad * 2)) <= limit:
            pad *= 2
        step = pad
        while step > 1:
            step //= 2
            if len(token(pad + step)) <= limit:
                pad += step
        text = token(pad)
        assert limit - 2 <= len(text) <= limit, (limit, len(text))
    header = case.get("header", "Bearer {token}")
    return None if header is None else header.replace("{token}", text)


@pytest.mark.parametrize("case", TOKEN_CASES, ids=[c["name"] for c in TOKEN_CASES])
async def test_token_rule(settings, case):
    """Each case of the shared table is accepted or refused by a subgraph as the table says."""
    header = token_case_header(settings, case)
    v = auth.Verifier(settings)
    if case["expect"] == "accept":
        assert (await v.verify(header)).sub, case["name"]
    else:
        assert case["expect"] == "refuse"
        with pytest.raises(auth.AuthError):
            await v.verify(header)


def test_token_table_is_well_formed():
    names = [c["name"] for c in TOKEN_CASES]
    assert len(names) == len(set(names))
    assert {c["expect"] for c in TOKEN_CASES} == {"accept", "refuse"}
    allowed = {"name", "expect", "header", "jose", "claims", "key", "payload_prefix", "payload_suffix", "payload_raw"}
    allowed |= {"payload_encoding", "pad_to", "mutate"}
    assert all(set(c) <= allowed for c in TOKEN_CASES), [set(c) - allowed for c in TOKEN_CASES]


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
