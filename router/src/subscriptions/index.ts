// Live ItemInfo over WebSocket: wires the NATS feed of ItemInfo changes, the shared per-document
// executions (hub), the gateway's planner for the selection, and graphql-transport-ws on the router's
// server. See docs/subscriptions.md for the design and its guarantees.
import type http from 'node:http'
import type { ApolloGateway, ServiceMap } from '@apollo/gateway'
import { GraphQLError, type ExecutionResult, type GraphQLSchema } from 'graphql'
import { EventBus } from '@gdmarket/platform/bus'
import type { Logger } from '@gdmarket/platform/logger'
import { formatError } from '@gdmarket/platform/service'
import type { RouterConfig } from '../config.js'
import { SUBGRAPH_NAMES } from '../supergraph.js'
import { createSubgraphFetch } from '../subgraph-fetch.js'
import { SubgraphDataSource } from '../subgraph-source.js'
import { DocumentCache } from './documents.js'
import { ItemInfoFeed } from './feed.js'
import { SubscriptionHub } from './hub.js'
import { SubscriptionPlanner } from './plan.js'
import { ConnectionLimits } from './connections.js'
import { type ExecuteOperation, SubscriptionService } from './serve.js'
import { createHttpStreams, type HttpStreams } from './http-streams.js'
import { attachWsServer } from './ws-server.js'

export interface SubscriptionsOptions {
  config: RouterConfig
  logger: Logger
  httpServer: http.Server
  gateway: ApolloGateway
  apiSchema: () => GraphQLSchema | undefined
  executeOperation: ExecuteOperation
}

export interface Subscriptions {
  hub: SubscriptionHub
  feed: ItemInfoFeed
  /** What every transport calls to start one subscription. */
  service: SubscriptionService
  connections: ConnectionLimits
  documents: DocumentCache
  /** SSE and multipart subscriptions: the router's HTTP service hands their requests here. */
  streams: HttpStreams
  /** At the start of shutdown: close every socket (1001) and complete every stream so HTTP can drain. */
  closeSockets(): Promise<void>
  /** After the drain: stop listening to NATS and close pooled subgraph connections. */
  close(): Promise<void>
}

export function createSubscriptions({
  config,
  logger: parentLogger,
  httpServer,
  gateway,
  apiSchema,
  executeOperation,
}: SubscriptionsOptions): Subscriptions {
  const logger = parentLogger.child({ component: 'subscriptions' })
  // Their own connection pool: a burst of deliveries cannot starve HTTP queries of sockets.
  const subgraphFetch = createSubgraphFetch(config.limits)
  const sources: ServiceMap = Object.fromEntries(
    SUBGRAPH_NAMES.map(name => [
      name,
      new SubgraphDataSource({
        name,
        url: config.subgraphUrls[name],
        fetcher: subgraphFetch.fetcher,
        internalSecret: config.internalSecret,
        logger,
      }),
    ]),
  )
  const planner = new SubscriptionPlanner(sources, logger)
  gateway.onSchemaLoadOrUpdate(({ apiSchema: schema, coreSupergraphSdl }) => planner.load(schema, coreSupergraphSdl))

  // Same error policy as HTTP: contract codes pass, anything unexpected is logged and hidden.
  const format = formatError(logger, config.mode)
  const finish = (result: ExecutionResult): ExecutionResult =>
    result.errors?.length
      ? {
          ...result,
          errors: result.errors.map(e => {
            const f = format(e.toJSON(), e)
            return new GraphQLError(f.message, { path: f.path, extensions: f.extensions })
          }),
        }
      : result
  const limits = config.subscriptions
  const hub = new SubscriptionHub(limits, logger, finish)

  const bus = new EventBus({
    url: config.natsUrl,
    auth: config.natsAuth,
    limits: config.natsStreamLimits,
    stream: config.natsStream,
    name: `${config.service}-subscriptions`,
    logger,
  })
  const feed = new ItemInfoFeed(bus, event => hub.deliver(event), logger)
  feed.start()
  const service = new SubscriptionService(hub, feed, planner, executeOperation, logger, limits.replayBatch)
  const connections = new ConnectionLimits(limits)
  const documents = new DocumentCache([], limits.documentCacheBytes, config.operationLimits)

  const ws = attachWsServer({
    httpServer,
    limits,
    operationLimits: config.operationLimits,
    tokens: config.tokens,
    logger,
    apiSchema,
    documents,
    service,
    connections,
    executeOperation,
  })

  const streams = createHttpStreams({
    service,
    documents,
    connections,
    limits,
    operationLimits: config.operationLimits,
    tokens: config.tokens,
    apiSchema,
    executeOperation,
    maxBodyBytes: config.limits.maxBodyBytes,
    logger,
  })

  return {
    hub,
    feed,
    streams,
    service,
    connections,
    documents,
    closeSockets: () => {
      streams.close()
      return ws.close()
    },
    async close() {
      feed.close()
      await bus.close()
      subgraphFetch.close()
    },
  }
}
