// urql: small, document-cached GraphQL client with exchanges we can extend (persisted documents
// for the portals). Staff send documents; partner and customer send only the sha256 of documents
// compiled into gateway/persisted-documents.json, as the gateway requires outside development.
import { persistedExchange } from '@urql/exchange-persisted';
import { Client, cacheExchange, fetchExchange } from 'urql';
import type { Session } from './auth';
import { isPortal } from './auth';

export function makeClient(session: Session, onUnauthorized: () => void): Client {
  const exchanges = [cacheExchange];
  if (isPortal(session.role)) {
    exchanges.push(
      persistedExchange({
        enforcePersistedQueries: true,
        preferGetForPersistedQueries: false,
        enableForMutation: true,
        generateHash: async (_query, document) => (document as unknown as { __meta__?: { hash?: string } }).__meta__?.hash ?? '',
      }),
    );
  }
  exchanges.push(fetchExchange);
  return new Client({
    url: '/graphql',
    exchanges,
    preferGetMethod: false,
    requestPolicy: 'cache-and-network',
    fetchOptions: () => ({ headers: { authorization: `Bearer ${session.token}` } }),
    fetch: async (input, init) => {
      const r = await fetch(input, init);
      if (r.status === 401) onUnauthorized();
      return r;
    },
  });
}
