// Compile the portal operations (src/portal/*.graphql) into gateway/persisted-documents.json.
// GraphQL Code Generator has already printed every operation and hashed it (sha256 of the text,
// src/gql/persisted-documents.json); the portal clients send only that hash (documentId), so the
// gateway must hold exactly these texts. Entries that are not portal operations of this client
// (e.g. hand-written ones) are kept; an older text of a portal operation is replaced.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kind, parse } from 'graphql';

const web = join(dirname(fileURLToPath(import.meta.url)), '..');
const gatewayFile = join(web, '..', 'gateway', 'persisted-documents.json');
const generated = JSON.parse(readFileSync(join(web, 'src', 'gql', 'persisted-documents.json'), 'utf8'));

const operationNames = (text) =>
  parse(text).definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION).map((d) => d.name?.value);

const portalDir = join(web, 'src', 'portal');
const portalOps = new Set(
  readdirSync(portalDir)
    .filter((f) => f.endsWith('.graphql'))
    .flatMap((f) => operationNames(readFileSync(join(portalDir, f), 'utf8'))),
);

const current = JSON.parse(readFileSync(gatewayFile, 'utf8'));
const out = {};
for (const [id, text] of Object.entries(current)) {
  if (!operationNames(text).some((n) => portalOps.has(n))) out[id] = text;
}
let added = 0;
for (const [id, text] of Object.entries(generated)) {
  const names = operationNames(text);
  if (!names.some((n) => portalOps.has(n))) continue;
  if (createHash('sha256').update(text).digest('hex') !== id) throw new Error(`hash of ${names} does not match its text`);
  out[id] = text;
  added += 1;
}
const missing = [...portalOps].filter((n) => !Object.values(out).some((t) => operationNames(t).includes(n)));
if (missing.length) throw new Error(`portal operations not compiled: ${missing.join(', ')}`);
const next = `${JSON.stringify(out, null, 2)}\n`;
if (next !== readFileSync(gatewayFile, 'utf8')) {
  writeFileSync(gatewayFile, next);
  console.log(`gateway/persisted-documents.json: ${added} portal operations written`);
}
