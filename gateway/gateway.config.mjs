// Hive Gateway configuration. The CLI loads it from the current directory, so start the gateway
// from gateway/: `npx hive-gateway supergraph supergraph.graphql --host 127.0.0.1 --port 4000`.
// The gateway is the first line of defence: every request to /graphql needs a verified JWT, and
// hostile documents are refused before any subgraph is called. README.md documents every
// variable; the short version:
//   TURNKEY_ENV            development (default) serves GraphiQL on GET /graphql, allows
//                          introspection and arbitrary documents for everyone, keeps "Did you
//                          mean" suggestions; anything else does not (a browser then gets 406)
//   TURNKEY_GATEWAY_DEDUP  "false" turns off in-flight request deduplication (benchmarks, so
//                          that identical concurrent requests are really executed)
//   LOG_LEVEL              trace | debug | info | warn (default) | error, exactly so: the CLI
//                          itself exits on any other value before this file is read
//   TURNKEY_JWKS_URL | TURNKEY_JWT_PUBLIC_KEY_FILE (one is required), TURNKEY_JWT_ISSUER,
//   TURNKEY_JWT_AUDIENCE, TURNKEY_JWT_ALGORITHMS, TURNKEY_JWT_CLAIM_NAMESPACE     token checks
//   TURNKEY_MAX_DEPTH, TURNKEY_MAX_TOKENS, TURNKEY_MAX_ALIASES, TURNKEY_MAX_DIRECTIVES,
//   TURNKEY_MAX_EXPANDED_FIELDS, TURNKEY_MAX_DUPLICATE_FIELDS, TURNKEY_MAX_COST,
//   TURNKEY_MAX_BODY_BYTES, TURNKEY_BATCH_LIMIT                             document limits
//   TURNKEY_CORS_ORIGINS   comma-separated origins allowed by CORS (exact: https://crm.example.com);
//                          unset: none outside development, any in development
//   TURNKEY_RATE_LIMIT, TURNKEY_PORTAL_RATE_LIMIT, TURNKEY_RATE_WINDOW_SECONDS   rate limits
//   TURNKEY_PERSISTED_DOCUMENTS, TURNKEY_PORTAL_PERSISTED_ONLY             persisted documents
//   TURNKEY_GATEWAY_PLANNER  "rust" (the default) plans with @graphql-hive/router-runtime (the
//                          Rust query planner, a prebuilt Node addon); "js": the JavaScript
//                          planner (docs/performance.md compares them)
// Any invalid value makes the gateway refuse to start, with one line per problem.
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createRemoteJwksSigningKeyProvider,
  defineConfig,
} from '@graphql-hive/gateway';
import { GraphQLError, Kind, getNamedType, getNullableType, isListType, parse } from 'graphql';

const env = process.env;
// The Rust planner by default (about 0.6x the gateway's CPU per request, docs/performance.md);
// the addon is loaded only when chosen, so "js" never depends on it.
const PLANNER = env.TURNKEY_GATEWAY_PLANNER || 'rust';
const rustPlanner = PLANNER === 'rust'
  ? (await import('@graphql-hive/router-runtime')).unifiedGraphHandler
  : undefined;
const here = dirname(fileURLToPath(import.meta.url));

// Nothing leaves this machine but requests to the subgraphs (and, with TURNKEY_JWKS_URL, to the
// key set): no usage reporting, tracing or remote schema. The CLI would turn those on from these
// variables before reading this file, so refuse to start instead.
const reporting = ['HIVE_ACCESS_TOKEN', 'HIVE_USAGE_ACCESS_TOKEN', 'HIVE_TRACE_ACCESS_TOKEN',
  'HIVE_REGISTRY_TOKEN', 'HIVE_TARGET', 'HIVE_USAGE_TARGET', 'HIVE_CDN_ENDPOINT', 'HIVE_CDN_KEY',
  'APOLLO_KEY', 'APOLLO_GRAPH_REF', 'OPENTELEMETRY', 'DEV_REMOTE'].filter((v) => env[v]);
if (reporting.length) {
  console.error(`gateway: unset ${reporting.join(', ')}: this gateway reports nothing anywhere`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------- settings
const problems = [];
const development = (env.TURNKEY_ENV || 'development') === 'development';
/** A non-negative integer from the environment; 0 turns the limit off. */
function limit(name, fallback) {
  const raw = (env[name] ?? '').trim();
  if (raw === '') return fallback;
  if (!/^\d+$/.test(raw)) {
    problems.push(`${name} must be a non-negative integer (0 = off), got "${env[name]}"`);
    return fallback;
  }
  return Number(raw);
}
function flag(name, fallback) {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  problems.push(`${name} must be true or false, got "${env[name]}"`);
  return fallback;
}

const MAX_DEPTH = limit('TURNKEY_MAX_DEPTH', 12);
const MAX_TOKENS = limit('TURNKEY_MAX_TOKENS', 2000);
const MAX_ALIASES = limit('TURNKEY_MAX_ALIASES', 30);
const MAX_DIRECTIVES = limit('TURNKEY_MAX_DIRECTIVES', 20);
const MAX_DUPLICATE_FIELDS = limit('TURNKEY_MAX_DUPLICATE_FIELDS', 5);
const MAX_EXPANDED_FIELDS = limit('TURNKEY_MAX_EXPANDED_FIELDS', 2000);
const MAX_COST = limit('TURNKEY_MAX_COST', 50000);
const MAX_BODY_BYTES = limit('TURNKEY_MAX_BODY_BYTES', 100 * 1024);
const BATCH_LIMIT = limit('TURNKEY_BATCH_LIMIT', 0);
const RATE_LIMIT = limit('TURNKEY_RATE_LIMIT', 600);
const PORTAL_RATE_LIMIT = limit('TURNKEY_PORTAL_RATE_LIMIT', 120);
const RATE_WINDOW_SECONDS = limit('TURNKEY_RATE_WINDOW_SECONDS', 60);
if (RATE_WINDOW_SECONDS < 1) problems.push('TURNKEY_RATE_WINDOW_SECONDS must be at least 1');
if (!['rust', 'js'].includes(PLANNER)) problems.push(`TURNKEY_GATEWAY_PLANNER must be rust or js, got "${PLANNER}"`);
// Outside development, partner and customer tokens may only run persisted documents.
const PORTAL_PERSISTED_ONLY = flag('TURNKEY_PORTAL_PERSISTED_ONLY', !development);

// Origins a browser may call the gateway from (the web client's), written exactly as the browser
// sends them in `Origin`: scheme, host and, unless the default, port; no path, no wildcard.
function origins(name) {
  const list = [];
  for (const item of (env[name] ?? '').split(',').map((o) => o.trim()).filter(Boolean)) {
    let url;
    try {
      url = new URL(item);
    } catch {
      problems.push(`${name}: "${item}" is not an origin (https://host[:port])`);
      continue;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      problems.push(`${name}: "${item}" must be an http(s) origin`);
    } else if (item.includes('*')) {
      problems.push(`${name}: "${item}": no wildcards, list each origin`);
    } else if (url.origin !== item) {
      problems.push(`${name}: "${item}" must be written as the browser sends it: "${url.origin}" (no path, `
        + 'no trailing slash, lower-case host, no default port)');
    } else {
      list.push(item);
    }
  }
  return list;
}
const CORS_ORIGINS = origins('TURNKEY_CORS_ORIGINS');

// ------------------------------------------------------------------------------ JWT settings
const ISSUER = env.TURNKEY_JWT_ISSUER || 'turnkey-local';
const AUDIENCE = env.TURNKEY_JWT_AUDIENCE || 'turnkey';
const NAMESPACE = env.TURNKEY_JWT_CLAIM_NAMESPACE || '';
// Clock skew allowed on exp/nbf, as services/common/auth.py LEEWAY_SECONDS.
const CLOCK_TOLERANCE_SECONDS = 30;
const ROLES = new Set(['admin', 'sales', 'marketing', 'support', 'partner', 'customer']);
const PORTAL_ROLES = new Set(['partner', 'customer']);
// Public-key algorithms only: no HS* (a shared secret) and never "none".
const KNOWN_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const ALGORITHMS = (env.TURNKEY_JWT_ALGORITHMS || 'ES256,RS256').split(',').map((a) => a.trim()).filter(Boolean);
for (const alg of ALGORITHMS) {
  if (!KNOWN_ALGORITHMS.includes(alg)) {
    problems.push(`TURNKEY_JWT_ALGORITHMS: "${alg}" is not one of ${KNOWN_ALGORITHMS.join(', ')}`);
  }
}
if (!ALGORITHMS.length) problems.push('TURNKEY_JWT_ALGORITHMS is empty');

// A public key nobody holds the private half of: the answer for a `kid` the key set does not
// have, so that such a token fails verification (401) instead of the plugin's "no signing key"
// error, which is not a GraphQL error and would be masked as a 500.
const UNUSABLE_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey
  .export({ type: 'spki', format: 'pem' });

/** The `kid` of a key file: its RFC 7638 thumbprint cut to 16 characters (services/common/localkey.py `kid_of`). */
function keyId(publicKey) {
  const jwk = publicKey.export({ format: 'jwk' });
  const members = jwk.kty === 'EC' ? ['crv', 'kty', 'x', 'y'] : jwk.kty === 'RSA' ? ['e', 'kty', 'n'] : null;
  if (!members) throw new Error(`a ${jwk.kty} key cannot sign ${ALGORITHMS.join(', ')} tokens`);
  const canonical = JSON.stringify(Object.fromEntries(members.map((m) => [m, jwk[m]])));
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 16);
}

let signingKeyProvider;
if (env.TURNKEY_JWKS_URL) {
  let url;
  try {
    url = new URL(env.TURNKEY_JWKS_URL);
  } catch {
    problems.push(`TURNKEY_JWKS_URL is not a URL: "${env.TURNKEY_JWKS_URL}"`);
  }
  if (url && url.protocol !== 'https:' && url.protocol !== 'http:') {
    problems.push(`TURNKEY_JWKS_URL must be an http(s) URL, got "${env.TURNKEY_JWKS_URL}"`);
  }
  // jwks-rsa: keys cached by kid for 10 min; an unknown kid refetches the set (key rotation),
  // at most 10 fetches a minute whatever the clients send.
  const remote = createRemoteJwksSigningKeyProvider({
    jwksUri: env.TURNKEY_JWKS_URL,
    cache: true,
    cacheMaxEntries: 20,
    cacheMaxAge: 10 * 60 * 1000,
    rateLimit: true,
    jwksRequestsPerMinute: 10,
    timeout: 5000,
  });
  signingKeyProvider = async (kid) => {
    if (typeof kid !== 'string' || !kid) return UNUSABLE_KEY; // jwks-rsa would pick a lone key
    try {
      return await remote(kid);
    } catch (e) {
      if (e?.name === 'SigningKeyNotFoundError' || e?.name === 'JwksRateLimitError') return UNUSABLE_KEY;
      throw e; // key set unreachable: logged, answered "Unexpected error." (500)
    }
  };
} else if (env.TURNKEY_JWT_PUBLIC_KEY_FILE) {
  const file = resolve(env.TURNKEY_JWT_PUBLIC_KEY_FILE);
  try {
    const pem = readFileSync(file, 'utf8');
    if (pem.includes('PRIVATE KEY')) throw new Error('this is a private key; give the public key');
    const publicKey = createPublicKey(pem);
    const key = publicKey.export({ type: 'spki', format: 'pem' });
    const localKid = keyId(publicKey);
    // the key answers only to its own `kid`, as in services/common/auth.py
    signingKeyProvider = (kid) => (kid === localKid ? key : UNUSABLE_KEY);
  } catch (e) {
    problems.push(`TURNKEY_JWT_PUBLIC_KEY_FILE: ${file}: ${e.message}`);
  }
} else {
  problems.push('set TURNKEY_JWKS_URL (JWKS of the identity provider) or TURNKEY_JWT_PUBLIC_KEY_FILE '
    + '(PEM public key): every request needs a verified JWT');
}

// ---------------------------------------------------------------------- persisted documents
// A JSON object: document id (the sha256 hex of the text, by convention) → document text.
const persistedFile = env.TURNKEY_PERSISTED_DOCUMENTS
  ? resolve(env.TURNKEY_PERSISTED_DOCUMENTS)
  : resolve(here, 'persisted-documents.json');
const persistedDocuments = new Map(); // a Map: ids such as "constructor" find nothing
try {
  const data = JSON.parse(readFileSync(persistedFile, 'utf8'));
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new Error('not a JSON object');
  for (const [id, text] of Object.entries(data)) {
    if (typeof text !== 'string') throw new Error(`document "${id}" is not a string`);
    try {
      parse(text);
    } catch (e) {
      throw new Error(`document "${id}": ${e.message}`);
    }
    persistedDocuments.set(id, text);
  }
} catch (e) {
  problems.push(`TURNKEY_PERSISTED_DOCUMENTS: ${persistedFile}: ${e.message}`);
}

if (problems.length) {
  for (const p of problems) console.error(`gateway: ${p}`);
  process.exit(1);
}

// ------------------------------------------------------------------------------ token rule
// One rule for a token, applied identically here and in every subgraph (services/common/auth.py;
// README "Token rule"; tests/token_cases.json is the shared table of cases both are tested with):
// the header is exactly `Bearer <jwt>`; the jwt is a compact JWS of at most 8192 characters whose
// header and payload are JSON objects; the header has no `crit`/`b64` and a `kid` naming a key of
// the key set; the payload's standard claims have the right types, `iat` is not in the future;
// `sub` is not blank; the custom claims follow the role rules. The JWT plugin checks the signature,
// `alg`, `iss`, `aud`, `exp` and `nbf`; bearerToken (before it) and identityFromClaims (after it)
// the rest, so that the gateway refuses (401) exactly what a subgraph would.
const MAX_TOKEN_LENGTH = 8192; // auth.py MAX_TOKEN_LENGTH
const MAX_NESTING = 16; // auth.py MAX_NESTING: JSON nested at most this deep in a token
const MAX_TIME = 1e12; // auth.py MAX_TIME: exp, nbf, iat are numbers from 0 to this
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
// whitespace (auth.py _BLANK): a `sub`, `company` or `contact` of only these is blank
const BLANK = /^[\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]*$/;
const nonBlank = (v) => typeof v === 'string' && !BLANK.test(v);
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }); // keeps a BOM: then not JSON

function httpError(status, code, message, headers) {
  return new GraphQLError(message, { extensions: { code, http: { status, ...(headers && { headers }) } } });
}
const unauthenticated = (why) => httpError(401, 'UNAUTHENTICATED', `Unauthenticated: ${why}`);

/** How deeply the objects and arrays of a JSON text nest (auth.py `_nesting`). */
function nesting(text) {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  let escaped = false;
  for (const c of text) {
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') deepest = Math.max(deepest, ++depth);
    else if (c === ']' || c === '}') depth -= 1;
  }
  return deepest;
}

/** A base64url segment holding a JSON object (strict UTF-8, plain JSON, nested at most
 * MAX_NESTING deep), or undefined. */
function jsonSegment(part) {
  if (part.length % 4 === 1) return undefined; // not base64 (Node would drop the last character)
  try {
    const text = strictUtf8.decode(Buffer.from(part, 'base64url'));
    if (nesting(text) > MAX_NESTING) return undefined;
    const value = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The JWT plugin's token lookup: the token of a header that follows the rule, or a 401. */
function bearerToken({ request }) {
  const header = request?.headers.get('authorization');
  if (header == null) return undefined; // the plugin answers 401 for a missing token
  if (!header.startsWith('Bearer ')) throw unauthenticated('the Authorization header must be "Bearer <jwt>"');
  const token = header.slice('Bearer '.length);
  if (token.length > MAX_TOKEN_LENGTH) throw unauthenticated(`the token is longer than ${MAX_TOKEN_LENGTH} characters`);
  if (!COMPACT_JWS.test(token)) {
    throw unauthenticated(/\s/.test(token)
      ? 'the Authorization header must be "Bearer <jwt>": one space, the token, nothing after it'
      : 'the token is not a JWT');
  }
  const [head, claims] = token.split('.', 2).map(jsonSegment);
  if (!head || !claims) throw unauthenticated('the token is not a JWT');
  if ('crit' in head || 'b64' in head) throw unauthenticated('token header extensions (crit, b64) are not supported');
  if (typeof head.kid !== 'string' || !head.kid) throw unauthenticated('the token has no key id ("kid")');
  return { prefix: 'Bearer', token };
}

// ------------------------------------------------------------------------------- identities
const identities = new WeakMap(); // Request → { sub, role, company, contact, portal }
const identityOf = (request) => (request ? identities.get(request) : undefined);

/** The identity of a verified token's payload; throws (401) when the claims break the rule. */
function identityFromClaims(payload) {
  const claim = (name) => payload[NAMESPACE + name];
  const bad = (why) => httpError(401, 'UNAUTHENTICATED', `Invalid token: ${why}`);
  const has = (name) => Object.hasOwn(payload, name);
  if (!nonBlank(payload.sub)) throw bad('"sub" must be a string that is not blank');
  if (typeof payload.exp !== 'number') throw bad('no "exp" claim');
  for (const name of ['exp', 'nbf', 'iat']) {
    const t = payload[name];
    if (has(name) && !(typeof t === 'number' && t >= 0 && t <= MAX_TIME)) {
      throw bad(`"${name}" must be a number of seconds`);
    }
  }
  if (has('iat') && payload.iat > Date.now() / 1000 + CLOCK_TOLERANCE_SECONDS) throw bad('"iat" is in the future');
  const aud = payload.aud;
  if (typeof aud !== 'string' && !(Array.isArray(aud) && aud.every((a) => typeof a === 'string'))) {
    throw bad('"aud" must be a string or a list of strings');
  }
  if (has('jti') && typeof payload.jti !== 'string') throw bad('"jti" must be a string');
  const role = claim('role');
  if (typeof role !== 'string' || !ROLES.has(role)) {
    throw bad(`claim "${NAMESPACE}role" must be one of ${[...ROLES].join(', ')}`);
  }
  // null is the same as absent; the same rules as services/common/auth.py check_claims
  const company = claim('company') ?? undefined;
  const contact = claim('contact') ?? undefined;
  const portal = PORTAL_ROLES.has(role);
  for (const [name, value] of [['company', company], ['contact', contact]]) {
    if (value !== undefined && !nonBlank(value)) {
      throw bad(`claim "${NAMESPACE}${name}" must be a string that is not blank`);
    }
  }
  if (portal && company === undefined) throw bad(`a ${role} token needs the claim "${NAMESPACE}company"`);
  if (!portal && (company !== undefined || contact !== undefined)) {
    throw bad('only partner and customer tokens are bound to a company');
  }
  if (role === 'partner' && contact !== undefined) throw bad('a partner token is bound to a company, not a contact');
  return { sub: payload.sub, role, company, contact, portal };
}

// Rate limits per identity (role + sub), whole operations, fixed windows in this process's
// memory. Not the gateway's `rateLimiting` option: that one (@envelop/rate-limiter) counts per
// field (`type`/`field` of each rule, once per resolver call) and keys on the raw Authorization
// header, so a query with many root fields or aliases counts many times and a refreshed token
// of the same subject starts afresh.
function createRateLimiter() {
  const windowMs = RATE_WINDOW_SECONDS * 1000;
  const windows = new Map(); // "role sub" → { start, count }
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [key, w] of windows) if (now - w.start >= windowMs) windows.delete(key);
  }, windowMs);
  sweep.unref();
  return function take(identity, n) {
    const max = identity.portal ? PORTAL_RATE_LIMIT : RATE_LIMIT;
    if (!RATE_LIMIT || !max) return;
    const key = `${identity.role} ${identity.sub}`;
    const now = Date.now();
    let w = windows.get(key);
    if (!w || now - w.start >= windowMs) windows.set(key, (w = { start: now, count: 0 }));
    w.count += n;
    if (w.count > max) {
      const retry = Math.max(1, Math.ceil((w.start + windowMs - now) / 1000));
      throw httpError(429, 'RATE_LIMITED',
        `Rate limit exceeded: at most ${max} operations per ${RATE_WINDOW_SECONDS} s for this identity; retry in ${retry} s`,
        { 'Retry-After': String(retry) });
    }
  };
}

// Runs after the JWT plugin (the CLI puts the `jwt` plugin before `plugins`), whose
// onRequestParse has verified the token and set serverContext.jwt by then.
function useTurnkeyIdentity() {
  const take = createRateLimiter();
  return {
    onRequestParse({ request, serverContext }) {
      const payload = serverContext.jwt?.payload;
      if (!payload) throw httpError(401, 'UNAUTHENTICATED', 'Unauthenticated');
      const identity = identityFromClaims(payload);
      identities.set(request, identity);
      take(identity, 1);
      return {
        onRequestParseDone({ requestParserResult }) {
          if (Array.isArray(requestParserResult) && requestParserResult.length > 1) {
            take(identity, requestParserResult.length - 1);
          }
        },
      };
    },
  };
}

// ------------------------------------------------------------------------------- body size
// Yoga's own limit (maxRequestBodySize, 25 MB) is not configurable through Hive Gateway 2.15.1
// (createGatewayRuntime does not pass it on), so the same check again with our limit: the
// Content-Length first, then the bytes actually read (chunked bodies).
function useMaxBodySize(max) {
  const tooLarge = () => httpError(413, 'REQUEST_ENTITY_TOO_LARGE', `Request body too large: at most ${max} bytes`);
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const length = request.headers.get('content-length');
      if (length != null) {
        if (!/^\d+$/.test(length)) throw httpError(400, 'BAD_REQUEST', 'Invalid Content-Length');
        if (Number(length) > max) throw tooLarge();
      }
      if (!requestParser || !request.body) return;
      setRequestParser((req) => {
        let read = 0;
        const TransformStreamCtor = req.body instanceof ReadableStream ? TransformStream : fetchAPI.TransformStream;
        const body = req.body.pipeThrough(new TransformStreamCtor({
          transform(chunk, controller) {
            read += chunk.byteLength;
            if (read > max) controller.error(tooLarge());
            else controller.enqueue(chunk);
          },
        }));
        return requestParser(new fetchAPI.Request(req.url, {
          method: req.method, headers: req.headers, signal: req.signal, body, duplex: 'half',
        }));
      });
    },
  };
}

// ------------------------------------------------------------------------------- media type
// A POST must carry JSON. Yoga also executes application/x-www-form-urlencoded and
// application/graphql bodies, mutations included (and answers other types, text/plain or
// multipart/form-data with Hive Gateway's `multipart: false`, with a bare 415). Form-encoded,
// multipart and text/plain are what any web page can make a browser send to another origin
// without a CORS preflight (CSRF). Such a request would still need the bearer token, which a
// page cannot add without a preflight, but the gateway refuses it anyway, with one answer for
// every such type: 415 UNSUPPORTED_MEDIA_TYPE in onRequest, before the token, the body or the
// document is read, on every path (/healthcheck and /readiness answer before, reading nothing).
// Accepted are the JSON types, compared by their essence (type/subtype, case-insensitive;
// parameters such as charset allowed) as a browser does when it decides on a preflight:
// `text/plain; x=application/json` is text/plain, and `application/json, text/plain` (which
// Yoga reads as its first type) is no media type. GET is unchanged (no body; Yoga refuses a
// mutation over GET with 405).
const JSON_MEDIA_TYPES = new Set(['application/json', 'application/graphql-response+json', 'application/graphql+json']);
/** The essence of a request's Content-Type (`application/json`), or '' without one. */
function mediaTypeOf(request) {
  return (request.headers.get('content-type') ?? '').split(';', 1)[0].trim().toLowerCase();
}
/** Yoga's JSON parser, for the accepted types Yoga does not match itself (`Application/JSON`,
 * `application/json ; charset=utf-8`, application/graphql-response+json). */
async function parseJsonBody(request) {
  let body;
  try {
    body = await request.json();
  } catch (e) {
    if (e instanceof GraphQLError) throw e; // the body size limit
    throw httpError(400, 'BAD_REQUEST', 'POST body sent invalid JSON.');
  }
  if (body === null || typeof body !== 'object') {
    throw httpError(400, 'BAD_REQUEST', `POST body is expected to be object but received ${body === null ? 'null' : typeof body}`);
  }
  return body;
}
function useJsonPostsOnly() {
  const refusal = JSON.stringify({
    errors: [{
      message: 'Unsupported Media Type: POST a JSON body with "Content-Type: application/json"',
      extensions: { code: 'UNSUPPORTED_MEDIA_TYPE' },
    }],
  });
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      if (request.method !== 'POST' || JSON_MEDIA_TYPES.has(mediaTypeOf(request))) return;
      endResponse(new fetchAPI.Response(refusal, {
        status: 415,
        headers: { 'content-type': 'application/json; charset=utf-8', 'accept-post': 'application/json' },
      }));
    },
    // Yoga's parsers come first; a POST still without one here has a JSON type Yoga's prefix
    // match missed. Set before useMaxBodySize, which wraps it.
    onRequestParse({ request, requestParser, setRequestParser }) {
      if (!requestParser && request.method === 'POST') setRequestParser(parseJsonBody);
    },
  };
}

// -------------------------------------------------------------------------- document limits
// The size of a document as execution would see it: every fragment spread expanded. Measured
// once per fragment (memoized; a fragment that spreads itself counts nothing the second time,
// and validation then refuses the cycle), so `...F9 ...F9 ...F9 ...F9` ten levels deep costs its
// length, not 4^10 walks. Runs first in validation and, when a limit is exceeded, answers instead
// of it: the graphql-js rules, the cost estimate and the query planner (whose delegation walks
// every expanded field, 4^n for such a document) never see the document.
//   fields      field selections after expansion (__typename included)
//   depth       nesting of fields; fragments and inline fragments add no level, `__schema` and
//               what is below it count nothing (graphql-armor max-depth with flattenFragments)
//   aliases     aliased fields after expansion, every alias counted (`a: __typename` too: 101
//               aliases of __typename are still 101 fields to answer)
//   directives  directives after expansion, on operations, fields, fragments and spreads
//   duplicates  the most times one response key (alias, or field name without one) appears in
//               one selection set as written: `{ __typename __typename … }` 500 times. Counted
//               per selection set (an operation's, a field's, an inline fragment's, a fragment
//               definition's), not across fragments, so that overlapping fragments selecting
//               `id` each, or `... on A { id } ... on B { id }`, are unaffected; repetition
//               through fragments is bounded by `fields` (and the token limit)
// graphql-armor's max-depth, max-aliases and max-directives gave the same answers with the same
// messages (except that armor let aliases of __typename go free); this one walk replaces them
// (they memoize too, but only after validation began).
const NOTHING = Object.freeze({ fields: 0, depth: 0, aliases: 0, directives: 0, duplicates: 0, duplicated: undefined });
const emptySize = () => ({ fields: 0, depth: 0, aliases: 0, directives: 0, duplicates: 0, duplicated: undefined });
/** The larger `duplicates` (with the key it counts) of `size` and `other`, kept in `size`. */
function keepMostDuplicated(size, other) {
  if (other.duplicates > size.duplicates) {
    size.duplicates = other.duplicates;
    size.duplicated = other.duplicated;
  }
}

function documentSize(document) {
  const fragments = new Map();
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION && !fragments.has(def.name.value)) fragments.set(def.name.value, def);
  }
  const memo = new Map(); // fragment name → size, or NOTHING while it is being measured
  function spread(name) {
    if (memo.has(name)) return memo.get(name);
    const def = fragments.get(name);
    if (!def) return NOTHING; // unknown fragment: validation refuses it
    memo.set(name, NOTHING);
    const size = selectionSet(def.selectionSet);
    size.directives += def.directives?.length ?? 0;
    memo.set(name, size);
    return size;
  }
  function selectionSet(set) {
    const size = emptySize();
    const keys = new Map(); // response key → how often it appears in this selection set
    for (const sel of set.selections) {
      size.directives += sel.directives?.length ?? 0;
      let inner;
      if (sel.kind === Kind.FIELD) {
        inner = sel.selectionSet ? selectionSet(sel.selectionSet) : NOTHING;
        size.fields += 1;
        if (sel.alias) size.aliases += 1;
        if (sel.name.value !== '__schema') size.depth = Math.max(size.depth, 1 + inner.depth);
        const key = (sel.alias ?? sel.name).value;
        const n = (keys.get(key) ?? 0) + 1;
        keys.set(key, n);
        if (n > size.duplicates) {
          size.duplicates = n;
          size.duplicated = key;
        }
      } else {
        inner = sel.kind === Kind.INLINE_FRAGMENT ? selectionSet(sel.selectionSet) : spread(sel.name.value);
        size.depth = Math.max(size.depth, inner.depth);
      }
      size.fields += inner.fields;
      size.aliases += inner.aliases;
      size.directives += inner.directives;
      keepMostDuplicated(size, inner);
    }
    return size;
  }
  // every operation of the document (validation reads them all), the largest of each measure
  const total = emptySize();
  for (const def of document.definitions) {
    if (def.kind !== Kind.OPERATION_DEFINITION) continue;
    const size = selectionSet(def.selectionSet);
    size.directives += def.directives?.length ?? 0;
    for (const key of ['fields', 'depth', 'aliases', 'directives']) total[key] = Math.max(total[key], size[key]);
    keepMostDuplicated(total, size);
  }
  return total;
}

function useDocumentLimits(limits) {
  const found = (n) => (n > Number.MAX_SAFE_INTEGER ? `more than ${Number.MAX_SAFE_INTEGER}` : String(n));
  const checks = [
    ['fields', limits.fields,
      (n, max) => `Fields limit of ${max} exceeded after expanding fragments, found ${found(n)}.`],
    ['depth', limits.depth, (n, max) => `Query depth limit of ${max} exceeded, found ${found(n)}.`],
    ['aliases', limits.aliases, (n, max) => `Aliases limit of ${max} exceeded, found ${found(n)}.`],
    ['directives', limits.directives, (n, max) => `Directives limit of ${max} exceeded, found ${found(n)}.`],
    ['duplicates', limits.duplicates, (n, max, size) => `Field duplication limit of ${max} exceeded: `
      + `\`${size.duplicated}\` appears ${found(n)} times in one selection set.`],
  ].filter(([, max]) => max);
  return {
    onValidate({ params, setResult }) {
      const size = documentSize(params.documentAST);
      const errors = checks
        .filter(([key, max]) => size[key] > max)
        .map(([key, max, message]) => new GraphQLError(message(size[key], max, size), {
          extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
        }));
      if (errors.length) setResult(errors); // instead of validation: nothing else reads the document
    },
  };
}

// ------------------------------------------------------------------------------------- cost
// Estimated number of objects an operation may return, from the client's document and its
// variables, before anything is executed. Hive's `demandControl` is not used: it prices each
// subgraph request while the plan runs (so the first subgraph is already called when it
// refuses), and without @listSize in the subgraph SDL it cannot read `first`.
//   cost of an object field = count × (1 + cost of its selection), scalars cost 0, where count
//   is 1 for a single object, and for a list the `first`/`last` of the enclosing connection
//   (DEFAULT_PAGE without one) or UNSLICED_LIST for other lists.
// companies(first: 100) { edges { node { id } } } costs 1 + 100 × 2 = 201.
const DEFAULT_PAGE = 20; // services/common/graphql.py DEFAULT_PAGE: a connection without `first`
const UNSLICED_LIST = 10; // lists without a page (errors, stages, forecast lines): small
function estimateCost(schema, document, operationName, variables) {
  const fragments = new Map();
  let operation;
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    else if (def.kind === Kind.OPERATION_DEFINITION && (operationName ? def.name?.value === operationName : !operation)) {
      operation = def;
    }
  }
  const root = operation && schema.getRootType(operation.operation);
  if (!root) return 0;
  const defaults = new Map((operation.variableDefinitions ?? []).map((v) => [v.variable.name.value, v.defaultValue]));
  const intValue = (node) => {
    if (node?.kind === Kind.VARIABLE) {
      const name = node.name.value;
      return variables && Object.hasOwn(variables, name) ? variables[name] : intValue(defaults.get(name));
    }
    return node?.kind === Kind.INT ? Number(node.value) : null;
  };
  const pageOf = (fieldNode, field) => {
    let page;
    for (const name of ['first', 'last']) {
      if (!field.args.some((a) => a.name === name)) continue;
      const n = intValue(fieldNode.arguments?.find((a) => a.name.value === name)?.value);
      page = Math.max(page ?? 0, Number.isFinite(n) ? Math.max(0, n) : DEFAULT_PAGE);
    }
    return page; // undefined: not a connection
  };
  const memo = new Map();
  function cost(selectionSet, parentType, listSize) {
    let total = 0;
    for (const sel of selectionSet.selections) {
      if (sel.kind === Kind.FIELD) {
        const field = sel.selectionSet && !sel.name.value.startsWith('__') && parentType?.getFields?.()[sel.name.value];
        if (!field) continue; // scalars, __typename, introspection
        const count = isListType(getNullableType(field.type)) ? (listSize ?? UNSLICED_LIST) : 1;
        total += count * (1 + cost(sel.selectionSet, getNamedType(field.type), pageOf(sel, field)));
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const type = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : parentType;
        total += cost(sel.selectionSet, type, listSize);
      } else {
        const key = `${sel.name.value}/${listSize}`;
        if (!memo.has(key)) { // fragments once each: no exponential walk through nested spreads
          memo.set(key, 0);
          const f = fragments.get(sel.name.value);
          memo.set(key, f ? cost(f.selectionSet, schema.getType(f.typeCondition.name.value), listSize) : 0);
        }
        total += memo.get(key);
      }
    }
    return total;
  }
  return cost(operation.selectionSet, root, undefined);
}
function useCostLimit(max) {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const estimated = estimateCost(args.schema, args.document, args.operationName, args.variableValues);
      if (estimated > max) {
        setResultAndStopExecution({
          errors: [new GraphQLError(
            `Query too expensive: estimated cost ${estimated} exceeds the limit of ${max} `
            + '(about the number of objects it may return; ask for smaller pages or fewer nested connections)',
            { extensions: { code: 'COST_ESTIMATED_TOO_EXPENSIVE', cost: { estimated, max }, http: { status: 400 } } },
          )],
        });
      }
    },
  };
}

// ------------------------------------------------------------------------------------ errors
// Why the JWT plugin said "Unauthenticated" (it logs the reason, it does not tell the client),
// read from the client's own unverified token, so that a client knows to refresh an expired
// token. Says nothing the client did not send, except that the issuer/audience/key are wrong.
// (A header or token of the wrong form never gets here: bearerToken refused it with its reason.)
function whyUnauthenticated(request) {
  const header = request?.headers.get('authorization');
  if (!header) return 'Unauthenticated: send "Authorization: Bearer <jwt>"';
  const [head, claims] = header.slice('Bearer '.length).split('.', 2).map(jsonSegment);
  if (!head || !claims) return 'Unauthenticated: the token is not a JWT';
  const now = Date.now() / 1000;
  const skew = CLOCK_TOLERANCE_SECONDS;
  if (!ALGORITHMS.includes(head.alg)) return `Unauthenticated: token algorithm "${head.alg}" is not accepted`;
  if (typeof claims.exp === 'number' && claims.exp + skew <= now) return 'Unauthenticated: the token has expired';
  if (typeof claims.nbf === 'number' && claims.nbf - skew > now) return 'Unauthenticated: the token is not valid yet';
  if (claims.iss !== ISSUER) return 'Unauthenticated: token issuer not accepted';
  if (![].concat(claims.aud ?? []).includes(AUDIENCE)) return 'Unauthenticated: token audience not accepted';
  return 'Unauthenticated: the token signature does not verify (unknown key)';
}
// the JWT plugin's answers to a malformed header or token: 400 without a code
const JWT_BAD_REQUEST = new Set(['Invalid JWT authentication token prefix.',
  'Authentication header was set, but token is missing.', 'Invalid authentication token provided']);

// Last touches on every response: the JWT plugin's errors get a reason, HTTP 401 and the code
// UNAUTHENTICATED; graphql-armor's token limit loses its misleading "Syntax Error: " and gets a code;
// outside development no "Did you mean …?" anywhere. The gateway's blockFieldSuggestions option
// is not used: it only rewrites validation errors, and misses the enum form ("Did you mean the
// enum value …?") and the errors of variables.
function usePublicErrors({ hideSuggestions }) {
  const fixError = (e, request) => {
    let message = e.message;
    let extensions = e.extensions;
    if (message === 'Unauthenticated' && extensions?.http?.status === 401 && !extensions.code) {
      message = whyUnauthenticated(request);
      extensions = { ...extensions, code: 'UNAUTHENTICATED' };
    } else if (JWT_BAD_REQUEST.has(message) && !extensions?.code) {
      message = `Unauthenticated: ${message.replace(/\.$/, '')}`;
      extensions = { ...extensions, code: 'UNAUTHENTICATED', http: { status: 401 } };
    }
    const armor = /^Syntax Error: (Token limit of \d+ exceeded.*)$/.exec(message);
    if (armor) {
      message = armor[1];
      extensions = { ...extensions, code: 'GRAPHQL_PARSE_FAILED' };
    }
    if (hideSuggestions && message.includes('Did you mean')) {
      message = message.replace(/\s*Did you mean [^?]*\?/g, '').trim();
    }
    if (message === e.message && extensions === e.extensions) return e;
    return new GraphQLError(message, {
      nodes: e.nodes, source: e.source, positions: e.positions, path: e.path, originalError: e.originalError, extensions,
    });
  };
  const fix = (result, request) => (result?.errors?.length
    ? { ...result, errors: result.errors.map((e) => fixError(e, request)) }
    : result);
  return {
    onResultProcess({ request, result, setResult }) {
      if (Array.isArray(result)) setResult(result.map((r) => fix(r, request)));
      else if (result && !(Symbol.asyncIterator in result)) setResult(fix(result, request));
    },
  };
}

// ------------------------------------------------------------------------------------- CORS
// Yoga's default answers every Origin, `null` included, with itself and
// Access-Control-Allow-Credentials: true. Here: with TURNKEY_CORS_ORIGINS, exactly those origins
// (preflight and actual requests), without credentials (the token travels in the Authorization
// header and the gateway sets no cookie); any other origin gets no Access-Control-Allow-* header,
// so the browser keeps the answer from its page. Without the list: no origin outside
// development; development keeps the default, for local tools.
const corsAllowed = new Set(CORS_ORIGINS);
function corsConfig() {
  if (!CORS_ORIGINS.length) return development ? undefined : false;
  const options = {
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type'],
    credentials: false,
    maxAge: 600,
  };
  return (request) => {
    const origin = request.headers.get('origin');
    return corsAllowed.has(origin) ? { ...options, origin: [origin] } : false;
  };
}
// the answer depends on the Origin: shared caches must not hand one origin's answer to another
function useVaryOrigin() {
  return {
    onResponse({ response }) {
      response.headers.append('Vary', 'Origin');
    },
  };
}

// ------------------------------------------------------------------------------------ config
export const gatewayConfig = defineConfig({
  ...(rustPlanner ? { unifiedGraphHandler: rustPlanner } : {}),
  graphiql: development,
  cors: corsConfig(),
  logging: env.LOG_LEVEL || 'warn',
  // No stack traces in responses outside development, whatever NODE_ENV says.
  maskedErrors: development ? true : { isDev: false },
  // No subscriptions in the supergraph, and GraphQL over WebSocket skips the onRequestParse hooks
  // (identity, rate limit, body size): /graphql is HTTP only.
  disableWebsockets: true,
  // Batching is off (400 "Batching is not supported."); TURNKEY_BATCH_LIMIT=n allows n
  // operations per request, each counted by the rate limit.
  batching: BATCH_LIMIT > 0 ? { limit: BATCH_LIMIT } : false,
  // @graphql-mesh/plugin-jwt-auth: Authorization: Bearer <jwt> on every GraphQL request, checked
  // in onRequestParse, before anything else is read or parsed.
  jwt: {
    signingKeyProviders: [signingKeyProvider],
    tokenLookupLocations: [bearerToken],
    tokenVerification: {
      algorithms: ALGORITHMS, issuer: ISSUER, audience: AUDIENCE, clockTolerance: CLOCK_TOLERANCE_SECONDS,
    },
    reject: { missingToken: true, invalidToken: true },
    // The subgraphs get the client's Authorization header (below) and verify it themselves;
    // no unsigned copy of the claims in the request extensions.
    forward: { payload: false, token: false },
  },
  maxTokens: MAX_TOKENS || false,
  // Only staff may look at the schema outside development.
  disableIntrospection: development ? false : {
    disableIf: ({ context }) => identityOf(context.request)?.portal !== false,
  },
  persistedDocuments: {
    getPersistedOperation: (id) => persistedDocuments.get(id) ?? null,
    allowArbitraryDocuments: (request) => !PORTAL_PERSISTED_ONLY || identityOf(request)?.portal === false,
    customErrors: {
      persistedQueryOnly: {
        message: 'Only persisted documents are accepted for this role: send "documentId" instead of "query"',
        extensions: { code: 'PERSISTED_QUERY_ONLY', http: { status: 403 } },
      },
      notFound: {
        message: 'Persisted document not found',
        extensions: { code: 'PERSISTED_QUERY_NOT_FOUND', http: { status: 400 } },
      },
      keyNotFound: {
        message: 'Send a "query" or a persisted "documentId"',
        extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED', http: { status: 400 } },
      },
    },
  },
  plugins: () => [
    useJsonPostsOnly(),
    useTurnkeyIdentity(),
    MAX_BODY_BYTES && useMaxBodySize(MAX_BODY_BYTES),
    useDocumentLimits({
      fields: MAX_EXPANDED_FIELDS,
      depth: MAX_DEPTH,
      aliases: MAX_ALIASES,
      directives: MAX_DIRECTIVES,
      duplicates: MAX_DUPLICATE_FIELDS,
    }),
    MAX_COST && useCostLimit(MAX_COST),
    usePublicErrors({ hideSuggestions: !development }),
    CORS_ORIGINS.length && useVaryOrigin(),
  ].filter(Boolean),
  // identities travel to the subgraphs, which verify them again
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) => {
      const authorization = request.headers.get('authorization');
      return authorization ? { authorization } : {};
    },
  },
  transportEntries: {
    '*.http': {
      options: { deduplicateInflightRequests: env.TURNKEY_GATEWAY_DEDUP !== 'false' },
    },
  },
});
