// Hive Gateway configuration, picked up by `hive-gateway supergraph supergraph.graphql` from
// this directory. Environment:
//   TURNKEY_ENV            development (default) serves GraphiQL; anything else does not
//   TURNKEY_GATEWAY_DEDUP  "false" turns off in-flight request deduplication (benchmarks, so
//                          that identical concurrent requests are really executed)
//   LOG_LEVEL              trace | debug | info | warn (default) | error
import { defineConfig } from '@graphql-hive/gateway';

const development = (process.env.TURNKEY_ENV ?? 'development') === 'development';
const level = (process.env.LOG_LEVEL ?? 'warn').toLowerCase();

export const gatewayConfig = defineConfig({
  graphiql: development,
  logging: ['trace', 'debug', 'info', 'warn', 'error'].includes(level) ? level : 'warn',
  // identities travel to the subgraphs, which verify them again
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) => {
      const authorization = request.headers.get('authorization');
      return authorization ? { authorization } : {};
    },
  },
  transportEntries: {
    '*.http': {
      options: {
        deduplicateInflightRequests: process.env.TURNKEY_GATEWAY_DEDUP !== 'false',
      },
    },
  },
});
