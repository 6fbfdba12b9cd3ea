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
//   TURNKEY_MAX_COST, TURNKEY_MAX_BODY_BYTES, TURNKEY_BATCH_LIMIT           document limits
//   TURNKEY_RATE_LIMIT, TURNKEY_PORTAL_RATE_LIMIT, TURNKEY_RATE_WINDOW_SECONDS   rate limits
//   TURNKEY_PERSISTED_DOCUMENTS, TURNKEY_PORTAL_PERSISTED_ONLY             persisted documents
// Any invalid value makes the gateway refuse to start, with one line per problem.
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import {
  createInlineSigningKeyProvider,
  createRemoteJwksSigningKeyProvider,
  defineConfig,
  extractFromHeader,
} from '@graphql-hive/gateway';
import { GraphQLError, Kind, getNamedType, getNullableType, isListType, parse } from 'graphql';

const env = process.env;
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
const MAX_COST = limit('TURNKEY_MAX_COST', 50000);
const MAX_BODY_BYTES = limit('TURNKEY_MAX_BODY_BYTES', 100 * 1024);
const BATCH_LIMIT = limit('TURNKEY_BATCH_LIMIT', 0);
const RATE_LIMIT = limit('TURNKEY_RATE_LIMIT', 600);
const PORTAL_RATE_LIMIT = limit('TURNKEY_PORTAL_RATE_LIMIT', 120);
const RATE_WINDOW_SECONDS = limit('TURNKEY_RATE_WINDOW_SECONDS', 60);
if (RATE_WINDOW_SECONDS < 1) problems.push('TURNKEY_RATE_WINDOW_SECONDS must be at least 1');
// Outside development, partner and customer tokens may only run persisted documents.
const PORTAL_PERSISTED_ONLY = flag('TURNKEY_PORTAL_PERSISTED_ONLY', !development);

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
    const key = createPublicKey(pem).export({ type: 'spki', format: 'pem' });
    signingKeyProvider = createInlineSigningKeyProvider(key);
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

// ------------------------------------------------------------------------------- identities
const identities = new WeakMap(); // Request → { sub, role, company, contact, portal }
const identityOf = (request) => (request ? identities.get(request) : undefined);

function httpError(status, code, message, headers) {
  return new GraphQLError(message, { extensions: { code, http: { status, ...(headers && { headers }) } } });
}

/** The identity of a verified token's payload; throws (401) when the custom claims are unusable. */
function identityFromClaims(payload) {
  const claim = (name) => payload[NAMESPACE + name];
  const bad = (why) => httpError(401, 'UNAUTHENTICATED', `Invalid token: ${why}`);
  if (typeof payload.sub !== 'string' || !payload.sub) throw bad('no "sub" claim');
  if (typeof payload.exp !== 'number') throw bad('no "exp" claim');
  const role = claim('role');
  if (typeof role !== 'string' || !ROLES.has(role)) {
    throw bad(`claim "${NAMESPACE}role" must be one of ${[...ROLES].join(', ')}`);
  }
  const company = claim('company');
  const contact = claim('contact');
  const portal = PORTAL_ROLES.has(role);
  if (portal && (typeof company !== 'string' || !company)) {
    throw bad(`a ${role} token needs the claim "${NAMESPACE}company"`);
  }
  if (company != null && typeof company !== 'string') throw bad(`claim "${NAMESPACE}company" must be a string`);
  if (contact != null && typeof contact !== 'string') throw bad(`claim "${NAMESPACE}contact" must be a string`);
  // the same rules as services/common/auth.py check_claims
  if (!portal && (company != null || contact != null)) throw bad('only partner and customer tokens are bound to a company');
  if (role === 'partner' && contact != null) throw bad('a partner token is bound to a company, not a contact');
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
function whyUnauthenticated(request) {
  const header = request?.headers.get('authorization');
  if (!header) return 'Unauthenticated: send "Authorization: Bearer <jwt>"';
  const [prefix, token = ''] = header.trim().split(/\s+/);
  if (prefix !== 'Bearer' || !token) return 'Unauthenticated: the Authorization header must be "Bearer <jwt>"';
  let head;
  let claims;
  try {
    [head, claims] = token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
  } catch {
    return 'Unauthenticated: the token is not a JWT';
  }
  if (!head || !claims || typeof claims !== 'object') return 'Unauthenticated: the token is not a JWT';
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
// UNAUTHENTICATED; graphql-armor's limits lose their misleading "Syntax Error: " and get a code;
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
    const armor = /^Syntax Error: ((Query depth|Aliases|Directives|Token) limit of \d+ exceeded.*)$/.exec(message);
    if (armor) {
      message = armor[1];
      extensions = { ...extensions, code: armor[2] === 'Token' ? 'GRAPHQL_PARSE_FAILED' : 'GRAPHQL_VALIDATION_FAILED' };
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

// ------------------------------------------------------------------------------------ config
export const gatewayConfig = defineConfig({
  graphiql: development,
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
    tokenLookupLocations: [extractFromHeader({ name: 'authorization', prefix: 'Bearer' })],
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
    useTurnkeyIdentity(),
    MAX_BODY_BYTES && useMaxBodySize(MAX_BODY_BYTES),
    // fragments count as the fields they contain: `...F` adds no level of its own
    MAX_DEPTH && maxDepthPlugin({ n: MAX_DEPTH, flattenFragments: true }),
    MAX_ALIASES && maxAliasesPlugin({ n: MAX_ALIASES }),
    MAX_DIRECTIVES && maxDirectivesPlugin({ n: MAX_DIRECTIVES }),
    MAX_COST && useCostLimit(MAX_COST),
    usePublicErrors({ hideSuggestions: !development }),
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
