// The router's configuration: what every service reads, plus the JWT secret, where the subgraphs
// are and the limits that protect the router and the subgraphs behind it.
import { readConfig, readServiceConfig, type ConfigReader, type ServiceConfig } from '@gdmarket/platform/config'
import { type TokenPolicy, readTokenPolicy } from './auth.js'
import { type CorsPolicy, readCorsPolicy } from './cors.js'
import { type RateLimits, readRateLimits } from './rate-limit.js'
import { type OperationLimits, readOperationLimits } from './limits.js'
import { ROUTER, SUBGRAPHS } from '@gdmarket/contracts/services'
import { SUBGRAPH_NAMES, defaultSubgraphUrls, type SubgraphUrls } from './supergraph.js'
import { readWebAppConfig, type WebAppConfig } from './web-app.js'

export interface RouterLimits {
  /** Largest accepted request body (the platform answers 413 above it). */
  maxBodyBytes: number
  /** A subgraph request that has not answered completely within this is abandoned. */
  subgraphTimeoutMs: number
  /** Open connections per subgraph, so one slow subgraph cannot take every socket. */
  subgraphMaxSockets: number
  /** Largest subgraph response body read into memory. */
  subgraphMaxResponseBytes: number
  /** Idle pooled subgraph connections close after this (below the subgraphs' 65 s keep-alive). */
  subgraphKeepAliveMs: number
  /** Identical queries in flight at once (same subgraph, body and caller) share one subgraph request. */
  subgraphDedupeQueries: boolean
}

/** Subscriptions on /graphql (graphql-transport-ws, GraphQL over SSE, multipart HTTP). */
export interface SubscriptionLimits {
  /** Open subscription connections (sockets, SSE streams, multipart responses) on this router. */
  maxConnections: number
  /** Open subscription connections of one caller (its user id, else its address). */
  maxPerCaller: number
  /** Distinct subscription documents being served at once. */
  maxDocuments: number
  /** Parsed-and-validated subscription documents kept, in bytes of their text. */
  documentCacheBytes: number
  /** A multipart subscription response sends an empty part this often, so proxies keep it open. */
  heartbeatMs: number
  /** Events waiting for one subscriber before it counts as too slow and is cut off. */
  bufferSize: number
  /** Concurrent operations per socket. */
  maxPerSocket: number
  /** Feed changes a replay asks for at once (and holds in memory) per subscriber. */
  replayBatch: number
  /** A socket that sends no connection_init within this is closed (4408). */
  initTimeoutMs: number
  /** Server ping interval; a client that misses a pong for as long is dropped. */
  keepAliveMs: number
  /** Largest WebSocket message a client may send (close 1009 above it). */
  maxMessageBytes: number
}

export interface RouterConfig extends ServiceConfig {
  /** The web app served at `/` (web-app.ts). */
  web: WebAppConfig
  jwtSecret: string
  /** How tokens are verified (auth.ts); its secret is jwtSecret. */
  tokens: TokenPolicy
  subgraphUrls: SubgraphUrls
  limits: RouterLimits
  /** What one operation may ask for (limits.ts). */
  operationLimits: OperationLimits
  /** Requests per caller (rate-limit.ts). */
  rateLimits: RateLimits
  /** Which other origins browsers may call the router from (cors.ts). */
  cors: CorsPolicy
  subscriptions: SubscriptionLimits
}

export function readRouterConfigFrom(r: ConfigReader): RouterConfig {
  const base = readServiceConfig(r, 'router', ROUTER.port)
  const defaults = defaultSubgraphUrls()
  const subgraphUrls = Object.fromEntries(
    SUBGRAPH_NAMES.map(name => [name, r.url(SUBGRAPHS[name].urlEnv, defaults[name])]),
  ) as SubgraphUrls
  const tokens = readTokenPolicy(r, base.mode)
  return {
    ...base,
    jwtSecret: tokens.secret,
    tokens,
    subgraphUrls,
    operationLimits: readOperationLimits(r),
    rateLimits: readRateLimits(r),
    cors: readCorsPolicy(r, base.mode),
    web: readWebAppConfig(r, base.mode),
    limits: {
      maxBodyBytes: r.int('MAX_BODY_BYTES', 1024 * 1024, { min: 1024, max: 64 * 1024 * 1024 }),
      subgraphTimeoutMs: r.int('SUBGRAPH_TIMEOUT_MS', 10_000, { min: 10, max: 300_000 }),
      subgraphMaxSockets: r.int('SUBGRAPH_MAX_SOCKETS', 256, { min: 1, max: 65_536 }),
      subgraphMaxResponseBytes: r.int('SUBGRAPH_MAX_RESPONSE_BYTES', 16 * 1024 * 1024, {
        min: 1024,
        max: 1024 * 1024 * 1024,
      }),
      subgraphKeepAliveMs: r.int('SUBGRAPH_KEEP_ALIVE_MS', 30_000, { min: 100, max: 600_000 }),
      subgraphDedupeQueries: r.oneOf('SUBGRAPH_DEDUPE_QUERIES', ['0', '1'] as const, '1') === '1',
    },
    subscriptions: {
      maxConnections: r.int('SUBSCRIPTION_MAX_CONNECTIONS', 10_000, { min: 1, max: 1_000_000 }),
      maxPerCaller: r.int('SUBSCRIPTION_MAX_CONNECTIONS_PER_CALLER', 32, { min: 1, max: 1_000_000 }),
      maxDocuments: r.int('SUBSCRIPTION_MAX_DOCUMENTS', 1_000, { min: 1, max: 1_000_000 }),
      documentCacheBytes: r.int('SUBSCRIPTION_DOCUMENT_CACHE_BYTES', 4 * 1024 * 1024, {
        min: 1024,
        max: 1024 * 1024 * 1024,
      }),
      heartbeatMs: r.int('SUBSCRIPTION_HEARTBEAT_MS', 5_000, { min: 100, max: 600_000 }),
      bufferSize: r.int('SUBSCRIPTION_BUFFER_SIZE', 100, { min: 1, max: 100_000 }),
      maxPerSocket: r.int('SUBSCRIPTION_MAX_PER_SOCKET', 100, { min: 1, max: 10_000 }),
      replayBatch: r.int('SUBSCRIPTION_REPLAY_BATCH', 512, { min: 1, max: 10_000 }),
      initTimeoutMs: r.int('SUBSCRIPTION_INIT_TIMEOUT_MS', 5_000, { min: 100, max: 600_000 }),
      keepAliveMs: r.int('SUBSCRIPTION_KEEP_ALIVE_MS', 12_000, { min: 1_000, max: 600_000 }),
      maxMessageBytes: r.int('SUBSCRIPTION_MAX_MESSAGE_BYTES', 1024 * 1024, { min: 1024, max: 64 * 1024 * 1024 }),
    },
  }
}

/** Reads and validates the router configuration; throws one ConfigError listing every problem. */
export const readRouterConfig = (env: NodeJS.ProcessEnv = process.env): RouterConfig =>
  readConfig(readRouterConfigFrom, env)
