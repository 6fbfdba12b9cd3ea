import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed operations from the committed supergraph. Every operation lives in a .graphql file under
// src/; the portal ones (src/portal/) are also compiled into gateway/persisted-documents.json by
// scripts/persist.mjs, so their hash is embedded in the generated documents.
// The admin screens' operations are generated apart (src/staff/admin/gql/), so that their
// documents land in the admin chunk, which only admins download, not in the shared one.
const output = {
  preset: 'client' as const,
  presetConfig: {
    fragmentMasking: false,
    persistedDocuments: { mode: 'embedHashInDocument' as const, hashPropertyName: 'hash', hashAlgorithm: 'sha256' as const },
  },
  config: {
    enumsAsTypes: true,
    useTypeImports: true,
    scalars: { Decimal: 'string', Date: 'string', DateTime: 'string', JSON: 'unknown' },
  },
};
const config: CodegenConfig = {
  schema: '../gateway/supergraph.graphql',
  ignoreNoDocuments: false,
  generates: {
    'src/gql/': { ...output, documents: ['src/**/*.graphql', '!src/staff/admin/**'] },
    'src/staff/admin/gql/': { ...output, documents: ['src/staff/admin/*.graphql'] },
  },
};
export default config;
