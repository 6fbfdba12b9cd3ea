"""Identity (docs/security.md): every request carries a JWT, verified at the gateway and again here.

Production: tokens come from an OIDC provider; `TURNKEY_JWKS_URL` names its key set, which is
cached and fetched again when a token names an unknown `kid` (key rotation). Embedded default: a
local EC P-256 key pair is created on first run (`<TURNKEY_DATA_DIR>/keys/`), tokens are signed
ES256 with it and `python -m devtools token` mints them.

Claims: `sub`, `exp`, `iss` (TURNKEY_JWT_ISSUER), `aud` (TURNKEY_JWT_AUDIENCE) and the custom
claims `role`, `company`, `contact`, `name`, each behind the optional prefix
TURNKEY_JWT_CLAIM_NAMESPACE. PyJWT does the cryptography and the standard-claim checks.

The token rule (docs/security.md "Token rule") is the gateway's too (gateway/gateway.config.mjs
`bearerToken`, `identityFromClaims`): both refuse exactly the same tokens, so a token the gateway
lets through is never refused here. tests/token_cases.json is the shared table of cases.

1. The header is exactly `Bearer <token>`: that scheme, case-sensitive, one space, nothing after.
2. The token has at most 8192 characters and is a compact JWS: three non-empty base64url
   segments (A-Z a-z 0-9 - _, no padding) joined by dots; header and payload are JSON objects
   (strict UTF-8, plain JSON: no NaN/Infinity; objects and arrays nested at most 16 deep).
3. Its header has no `crit` and no `b64` (no JWS extensions), an accepted `alg` and a `kid` (a
   non-empty string) naming a key of the key set (the local key's `kid` is its RFC 7638
   thumbprint, cut to 16 characters).
4. The signature verifies with that key.
5. `iss` is the configured issuer; `aud` is the configured audience or a list of strings that
   contains it.
6. `exp` is present; `exp`, `nbf`, `iat` (when present) are JSON numbers from 0 to 10^12, not
   strings or booleans; `exp` is not past, `nbf` and `iat` are not in the future, each with 30 s
   clock tolerance; `jti`, if present, is a string.
7. `sub` is a string that is not blank (not only whitespace); `role` is one of the six roles;
   `company` and `contact` (null is absent) are non-blank strings; partner and customer tokens
   name a company, staff tokens neither a company nor a contact, partner tokens no contact."""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import json
import re
import time
import uuid
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import serialization

from .localkey import ensure_local_keys, kid_of, private_key_path, public_key_path
from .settings import Settings

ADMIN, SALES, MARKETING, SUPPORT, PARTNER, CUSTOMER = "admin", "sales", "marketing", "support", "partner", "customer"
ROLES = (ADMIN, SALES, MARKETING, SUPPORT, PARTNER, CUSTOMER)
STAFF = frozenset({ADMIN, SALES, MARKETING, SUPPORT})
PORTAL = frozenset({PARTNER, CUSTOMER})
LOCAL_ALGORITHM = "ES256"
MAX_TOKEN_LENGTH = 8192
LEEWAY_SECONDS = 30
MAX_NESTING = 16  # JSON objects and arrays in a token's header or payload, nested at most this deep
MAX_TIME = 10**12  # exp, nbf, iat: numbers from 0 to this (year 33658; beyond, JSON numbers lose precision)
SCHEME = "Bearer "
COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# whitespace (the gateway's BLANK): a sub, company or contact of only these is blank
_BLANK = re.compile(r"[\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]*")
CACHE_SIZE = 10_000
CACHE_SECONDS = 60


class AuthError(Exception):
    """The request has no valid identity. The message is safe to show."""


@dataclass(frozen=True)
class Principal:
    sub: str
    role: str
    company: str | None = None
    contact: str | None = None
    name: str | None = None
    token_id: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    @property
    def is_portal(self) -> bool:
        return self.role in PORTAL

    def describe(self) -> dict:
        """What the audit log records about who did something."""
        return {
            "sub": self.sub,
            "role": self.role,
            "company": self.company,
            "contact": self.contact,
            "name": self.name,
            "token_id": self.token_id,
        }


def _claim(settings: Settings, name: str) -> str:
    return f"{settings.jwt_claim_namespace}{name}"


def parse_ttl(text: str) -> dt.timedelta:
    """`90s`, `15m`, `8h`, `30d` or plain seconds."""
    text = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text and text[-1] in units:
        return dt.timedelta(seconds=int(text[:-1]) * units[text[-1]])
    return dt.timedelta(seconds=int(text))


def mint(
    settings: Settings,
    *,
    role: str,
    sub: str,
    company: str | None = None,
    contact: str | None = None,
    name: str | None = None,
    ttl: dt.timedelta = dt.timedelta(hours=8),
) -> str:
    """A token signed with the local key (embedded default and tests; production tokens come
    from the OIDC provider)."""
    check_claims(role, company, contact)
    if not sub or not sub.strip():
        raise ValueError("sub must not be empty")
    ensure_local_keys(settings)
    key = serialization.load_pem_private_key(private_key_path(settings).read_bytes(), password=None)
    now = dt.datetime.now(dt.UTC)
    claims = {
        "sub": sub,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
        _claim(settings, "role"): role,
    }
    for k, v in (("company", company), ("contact", contact), ("name", name)):
        if v:
            claims[_claim(settings, k)] = v
    return jwt.encode(claims, key, algorithm=LOCAL_ALGORITHM, headers={"kid": kid_of(key.public_key())})


def is_blank(value: object) -> bool:
    """Not a string, or only whitespace (rule 7)."""
    return not isinstance(value, str) or _BLANK.fullmatch(value) is not None


def check_claims(role: object, company: object, contact: object) -> None:
    """The role rules (rule 7); None is an absent claim."""
    if not isinstance(role, str) or role not in ROLES:
        raise AuthError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    for name, value in (("company", company), ("contact", contact)):
        if value is not None and is_blank(value):
            raise AuthError(f"the {name} claim must be a string that is not blank")
    if role in PORTAL and company is None:
        raise AuthError(f"a {role} token must name its company")
    if role not in PORTAL and (company is not None or contact is not None):
        raise AuthError("only partner and customer tokens are bound to a company")
    if role == PARTNER and contact is not None:
        raise AuthError("a partner token is bound to a company, not a contact")


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _nesting(text: str) -> int:
    """How deeply the objects and arrays of a JSON text nest (the gateway's `nesting`)."""
    depth = deepest = 0
    in_string = escaped = False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


def _json_segment(part: str) -> dict | None:
    """A base64url segment holding a JSON object (strict UTF-8, plain JSON, nested at most
    MAX_NESTING deep), or None."""
    try:
        text = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode("utf-8")
        if _nesting(text) > MAX_NESTING:
            return None
        value = json.loads(text, parse_constant=_no_constant)
    except (binascii.Error, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    return value if isinstance(value, dict) else None


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Verifier:
    """Verifies bearer tokens for one service; `await verify(header)` → Principal or AuthError."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.algorithms = settings.jwt_algorithms
        self._jwks: jwt.PyJWKClient | None = None
        self._local: dict[str, object] = {}
        # token → (principal, valid until): one federated query reaches several subgraphs, each
        # several times (_entities), with the same token; an ECDSA/RSA check each time costs
        # more than the resolvers. Kept at most CACHE_SECONDS and never past `exp`, so a key
        # withdrawn from the JWKS stops working within a minute. (A dict is enough for a bounded
        # FIFO with expiry; no cache library is worth the dependency.)
        self._cache: dict[str, tuple[Principal, float]] = {}
        if settings.jwks_url:
            # an unknown kid refetches the set at most once per cooldown (a flood of made-up kids
            # cannot turn into a flood of requests to the identity provider)
            self._jwks = jwt.PyJWKClient(
                settings.jwks_url, cache_jwk_set=True, lifespan=300, timeout=5, cooldown_duration=settings.jwks_cooldown
            )
        else:
            pub = public_key_path(settings)
            if not pub.exists():
                ensure_local_keys(settings)
            key = serialization.load_pem_public_key(pub.read_bytes())
            self._local = {kid_of(key): key}
            self.algorithms = [LOCAL_ALGORITHM]

    async def _key(self, kid: str):
        if self._jwks is not None:
            # PyJWKClient fetches with blocking urllib (and again on an unknown kid): off the loop.
            try:
                return (await asyncio.to_thread(self._jwks.get_signing_key, kid)).key
            except jwt.PyJWKClientError as exc:
                raise AuthError(f"no key to verify the token: {exc}") from None
        if kid not in self._local:
            raise AuthError("the token was not signed by this installation's key")
        return self._local[kid]

    async def verify(self, authorization: str | None) -> Principal:
        now = time.time()
        hit = self._cache.get(authorization or "")
        if hit is not None:
            if hit[1] > now:
                return hit[0]
            self._cache.pop(authorization, None)
        principal, exp = await self._verify(authorization)
        if len(self._cache) >= CACHE_SIZE:
            self._cache.pop(next(iter(self._cache)))
        self._cache[authorization] = (principal, min(now + CACHE_SECONDS, exp))
        return principal

    async def _verify(self, authorization: str | None) -> tuple[Principal, float]:
        """The token rule (module docstring), in the gateway's order."""
        if not authorization:
            raise AuthError("missing Authorization: Bearer <token>")
        if not authorization.startswith(SCHEME):
            raise AuthError("the Authorization header must be `Bearer <token>`")
        token = authorization[len(SCHEME) :]
        if len(token) > MAX_TOKEN_LENGTH:
            raise AuthError("the token is too long")
        if not COMPACT_JWS.fullmatch(token):
            if any(c.isspace() for c in token):
                raise AuthError("the Authorization header must be `Bearer <token>`: one space, nothing after the token")
            raise AuthError("the token is not a JWT")
        header_part, payload_part, _ = token.split(".")
        header, payload = _json_segment(header_part), _json_segment(payload_part)
        if header is None or payload is None:
            raise AuthError("the token is not a JWT")
        if "crit" in header or "b64" in header:
            raise AuthError("token header extensions (crit, b64) are not supported")
        if header.get("alg") not in self.algorithms:
            raise AuthError(f"token algorithm {header.get('alg')!r} is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("the token has no key id (kid)")
        key = await self._key(kid)
        s = self.settings
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=self.algorithms,
                audience=s.jwt_audience,
                issuer=s.jwt_issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("the token has expired") from None
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from None
        for name in ("exp", "nbf", "iat"):
            # PyJWT would take "123" or true for a time (int()); the gateway takes numbers only
            if name in claims and not (_is_number(claims[name]) and 0 <= claims[name] <= MAX_TIME):
                raise AuthError(f"the {name} claim must be a number of seconds")
        if "iat" in claims and claims["iat"] > time.time() + LEEWAY_SECONDS:
            raise AuthError("the token was issued in the future")
        sub = claims["sub"]
        if is_blank(sub):
            raise AuthError("the token has no subject")
        role, company, contact = (claims.get(_claim(s, k)) for k in ("role", "company", "contact"))
        check_claims(role, company, contact)
        name = claims.get(_claim(s, "name"))
        return (
            Principal(
                sub=sub,
                role=role,
                company=company,
                contact=contact,
                name=name if isinstance(name, str) else None,
                token_id=claims.get("jti"),
            ),
            float(claims["exp"]),
        )
