// Compose the supergraph from the subgraphs' SDL with @theguild/federation-composition.
//   node compose.mjs [--out FILE] [--subgraphs DIR] [--url name=URL ...]
// Defaults: SDL from ./subgraphs/<name>.graphql (written by `python -m services.devserver
// --print-sdl gateway/subgraphs`), URLs from ./subgraphs.json, output ./supergraph.graphql.
// Relative paths are resolved against the current directory. Deterministic output.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'graphql';
import { composeServices, compositionHasErrors } from '@theguild/federation-composition';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let out = resolve(here, 'supergraph.graphql');
let dir = resolve(here, 'subgraphs');
const urls = JSON.parse(readFileSync(resolve(here, 'subgraphs.json'), 'utf8'));
for (let i = 0; i < args.length; i++) {
  const [flag, value] = [args[i], args[++i]];
  if (value === undefined) { console.error(`missing value for ${flag}`); process.exit(2); }
  if (flag === '--out') out = resolve(value);
  else if (flag === '--subgraphs') dir = resolve(value);
  else if (flag === '--url') {
    const at = value.indexOf('=');
    const name = value.slice(0, at);
    if (at < 1 || !(name in urls)) { console.error(`--url wants name=URL with name in ${Object.keys(urls)}`); process.exit(2); }
    urls[name] = value.slice(at + 1);
  } else { console.error(`unknown option ${flag}`); process.exit(2); }
}

const services = Object.keys(urls).sort().map((name) => {
  const file = resolve(dir, `${name}.graphql`);
  let sdl;
  try { sdl = readFileSync(file, 'utf8'); } catch (e) { console.error(`cannot read ${file}: ${e.message}`); process.exit(1); }
  return { name, url: urls[name], typeDefs: parse(sdl) };
});
const result = composeServices(services);
if (compositionHasErrors(result)) {
  console.error(`supergraph composition failed (${result.errors.length} errors):`);
  for (const err of result.errors) console.error(`  - ${err.message}`);
  process.exit(1);
}
writeFileSync(out, result.supergraphSdl.trimEnd() + '\n');
console.log(`supergraph written to ${out}`);
