// Compose the supergraph from the subgraphs' SDL with @theguild/federation-composition.
//   node compose.mjs [--out FILE] [--subgraphs DIR] [--url name=URL ...]
// Defaults (found next to this script, whatever the current directory): SDL from
// ./subgraphs/<name>.graphql (written by `python -m devtools sdl
// gateway/subgraphs`), URLs from ./subgraphs.json, output ./supergraph.graphql.
// Paths given as options are resolved against the current directory.
// The subgraphs are the *.graphql files of the SDL directory; each needs a URL (subgraphs.json
// or --url). With the default directory every subgraph of subgraphs.json must have its file.
// Same input, byte-identical output. Exit 1 on unreadable SDL or composition errors, 2 on usage.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'graphql';
import { composeServices, compositionHasErrors } from '@theguild/federation-composition';

const here = dirname(fileURLToPath(import.meta.url));
const usage = 'usage: node compose.mjs [--out FILE] [--subgraphs DIR] [--url name=URL ...]';
const fail = (code, ...lines) => { for (const l of lines) console.error(l); process.exit(code); };

const defaultDir = resolve(here, 'subgraphs');
let out = resolve(here, 'supergraph.graphql');
let dir = defaultDir;
const urls = JSON.parse(readFileSync(resolve(here, 'subgraphs.json'), 'utf8'));
const overrides = {};
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const flag = args[i];
  if (flag === '-h' || flag === '--help') fail(0, usage);
  const value = args[++i];
  if (value === undefined) fail(2, `missing value for ${flag}`, usage);
  if (flag === '--out') out = resolve(value);
  else if (flag === '--subgraphs') dir = resolve(value);
  else if (flag === '--url') {
    const at = value.indexOf('=');
    if (at < 1) fail(2, `--url wants name=URL, got ${value}`);
    overrides[value.slice(0, at)] = value.slice(at + 1);
  } else fail(2, `unknown option ${flag}`, usage);
}
const listed = Object.keys(urls);
Object.assign(urls, overrides);

let files;
try {
  files = readdirSync(dir).filter((f) => f.endsWith('.graphql')).sort();
} catch (e) {
  fail(1, `cannot read subgraph directory ${dir}: ${e.message}`);
}
const names = files.map((f) => basename(f, '.graphql'));
if (names.length === 0) fail(1, `no <name>.graphql subgraph SDL in ${dir}`);
const problems = [];
if (dir === defaultDir) {
  for (const name of listed) {
    if (!names.includes(name)) problems.push(`missing SDL for subgraph "${name}": ${resolve(dir, `${name}.graphql`)}`);
  }
}
for (const name of Object.keys(overrides)) {
  if (!names.includes(name)) problems.push(`--url ${name}=…: no ${name}.graphql in ${dir}`);
}
for (const name of names) {
  if (!urls[name]) problems.push(`no URL for subgraph "${name}" (add it to subgraphs.json or pass --url ${name}=URL)`);
  else if (!URL.canParse(urls[name])) problems.push(`bad URL for subgraph "${name}": ${urls[name]}`);
}
if (problems.length) fail(1, ...problems);

const services = names.map((name) => {
  const file = resolve(dir, `${name}.graphql`);
  try {
    return { name, url: urls[name], typeDefs: parse(readFileSync(file, 'utf8')) };
  } catch (e) {
    const at = e.locations?.[0];
    return fail(1, `${file}${at ? `:${at.line}:${at.column}` : ''}: ${e.message}`);
  }
});

const result = composeServices(services);
if (compositionHasErrors(result)) {
  const errors = result.errors;
  fail(1, `supergraph composition failed (${errors.length} error${errors.length === 1 ? '' : 's'}):`,
    ...errors.map((e) => `  - ${e.extensions?.code ? `[${e.extensions.code}] ` : ''}${e.message}`));
}
writeFileSync(out, result.supergraphSdl.trimEnd() + '\n');
console.log(`supergraph of ${names.join(', ')} written to ${out}`);
