import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed operations from the committed supergraph. Every operation lives in a .graphql file under
// src/; the portal ones (src/portal/) are also compiled into gateway/persisted-documents.json by
// scripts/persist.mjs, so their hash is embedded in the generated documents.
const config: CodegenConfig = {
  schema: '../gateway/supergraph.graphql',
  documents: ['src/**/*.graphql'],
  ignoreNoDocuments: false,
  generates: {
    'src/gql/': {
      preset: 'client',
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: { mode: 'embedHashInDocument', hashPropertyName: 'hash', hashAlgorithm: 'sha256' },
      },
      config: {
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: { Decimal: 'string', Date: 'string', DateTime: 'string', JSON: 'unknown' },
      },
    },
  },
};
export default config;
