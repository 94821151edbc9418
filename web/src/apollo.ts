// One Apollo Client per signed-in person: queries and mutations over HTTP POST /graphql with the
// token, subscriptions over WebSocket (graphql-transport-ws) on the same path with the token in
// connection_init. Same origin: the router serves the app (or Vite proxies to it in development).
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client'
import { GraphQLWsLink } from '@apollo/client/link/subscriptions'
import { getMainDefinition } from '@apollo/client/utilities'
import { createClient, type Client } from 'graphql-ws'

export const wsUrl = () => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`

/** A graphql-ws client for this token; `retryAttempts` 0 leaves reconnecting to the caller. */
export function wsClient(token: string | null, retryAttempts = Number.POSITIVE_INFINITY): Client {
  return createClient({
    url: wsUrl(),
    lazy: true,
    retryAttempts,
    shouldRetry: () => true,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
  })
}

export function makeClient(token: string | null): ApolloClient {
  const http = new HttpLink({ uri: '/graphql', headers: token ? { authorization: `Bearer ${token}` } : {} })
  const ws = new GraphQLWsLink(wsClient(token))
  const link = ApolloLink.split(
    ({ query }) => {
      const d = getMainDefinition(query)
      return d.kind === 'OperationDefinition' && d.operation === 'subscription'
    },
    ws,
    http,
  )
  return new ApolloClient({
    link,
    cache: new InMemoryCache({
      typePolicies: { ItemInfo: { keyFields: ['itemId'] }, ItemNearby: { keyFields: false } },
    }),
    defaultOptions: { watchQuery: { fetchPolicy: 'cache-and-network' } },
  })
}
