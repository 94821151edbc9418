// The federation gateway over a supergraph composed at start from the subgraphs' SDL files. The
// supergraph is static: the gateway never has to reach a subgraph to load it, so a subgraph that
// is down at start costs only its own fields, not the router.
import { ApolloGateway } from '@apollo/gateway'
import type { GraphQLSchema } from 'graphql'
import type { Logger } from '@gdmarket/platform/logger'
import type { RouterConfig } from './config.js'
import { composeSupergraph } from './supergraph.js'
import { createSubgraphFetch } from './subgraph-fetch.js'
import { SubgraphDataSource } from './subgraph-source.js'

export interface RouterGateway {
  gateway: ApolloGateway
  supergraphSdl: string
  /** The public API schema once the gateway has loaded (what WebSocket subscriptions execute against). */
  apiSchema(): GraphQLSchema | undefined
  /** Closes pooled subgraph connections; call after HTTP has drained. */
  close(): void
}

export function createGateway(config: RouterConfig, logger: Logger): RouterGateway {
  const supergraphSdl = composeSupergraph(config.subgraphUrls)
  const subgraphFetch = createSubgraphFetch(config.limits)
  const gateway = new ApolloGateway({
    supergraphSdl,
    logger: logger.child({ component: 'gateway' }),
    buildService: ({ name, url }) => {
      if (!url) throw new Error(`subgraph ${name} has no url in the supergraph`)
      return new SubgraphDataSource({
        name,
        url,
        fetcher: subgraphFetch.fetcher,
        internalSecret: config.internalSecret,
        logger,
      })
    },
  })
  let apiSchema: GraphQLSchema | undefined
  // Registered before the gateway loads, so the first schema is seen too.
  gateway.onSchemaLoadOrUpdate(({ apiSchema: schema }) => {
    apiSchema = schema
  })
  return { gateway, supergraphSdl, apiSchema: () => apiSchema, close: () => subgraphFetch.close() }
}
