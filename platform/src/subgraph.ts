// Builds a GDmarket subgraph process the same way for every service: config → migrations →
// Prisma client → NATS bus → outbox relay → event consumers → Apollo subgraph over the platform's
// HTTP service, with readiness on the database and NATS and a stop that unwinds it all in order.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ApolloServer, type BaseContext } from '@apollo/server'
import { buildSubgraphSchema } from '@apollo/subgraph'
import { GraphQLError, parse } from 'graphql'
import { AppError } from './errors.js'
import { EventBus, type StreamSpec } from './bus.js'
import type { EventsConfig, ServiceConfig } from './config.js'
import { EventConsumer, type DeclaredConsumer } from './consumer.js'
import { callerFromHeaders, isInternalRequest, type Caller } from './identity.js'
import { createLogger, type Logger } from './logger.js'
import { migrateDatabase } from './migrate.js'
import { OutboxRelay, type Kick, type OutboxStore } from './outbox.js'
import { createHttpService, type HttpService, type RequestBase } from './service.js'

/** What every resolver sees; services add their own fields. */
export interface RequestContext extends BaseContext {
  correlationId: string
  logger: Logger
  /** The caller the router vouched for, null when anonymous. */
  caller: Caller | null
  /** The request came from another GDmarket process (carries the internal secret). */
  internal: boolean
}

export interface PrismaLike {
  $disconnect(): Promise<void>
  $queryRawUnsafe(query: string): Promise<unknown>
}

export interface SubgraphOptions<Db extends PrismaLike, Ctx extends RequestContext> {
  config: ServiceConfig & EventsConfig
  /** The database folder under prisma/ (schema.prisma + migrations/). */
  database: string
  createDb: (url: string, poolSize: number) => Db
  /** JetStream streams of the service's own, beside the event stream. */
  streams?: StreamSpec[]
  /** Path of the subgraph's .graphql file. */
  schemaFile: string
  /** The subgraph's generated `Resolvers` map (generated/<db>/resolvers.ts), typed by its schema. */
  resolvers: object
  /** Wires the service's use cases once: the per-request context and the event consumers. */
  setup: (runtime: { db: Db; kick: Kick; logger: Logger; bus: EventBus }) => {
    context: (request: RequestContext) => Ctx
    /** Each made by `consumer(...)` from its handler table. */
    consumers?: DeclaredConsumer[]
    /** The service's outbox table, published by a relay; omit for a service that emits no events. */
    outbox?: OutboxStore
  }
}

export interface Subgraph<Db> {
  service: HttpService
  logger: Logger
  db: Db
  bus: EventBus
  relay: OutboxRelay | undefined
  consumers: EventConsumer[]
  start(): Promise<number>
  stop(): Promise<void>
}

/** Apollo reports a plain error thrown while building the context as a 500; keep the contract's code. */
function contextError<T>(fn: () => T): T {
  try {
    return fn()
  } catch (e) {
    if (e instanceof AppError)
      throw new GraphQLError(e.message, {
        extensions: { code: e.code, http: { status: e.code === 'UNAUTHENTICATED' ? 401 : 400 } },
      })
    throw e
  }
}

/** The resolver map buildSubgraphSchema takes (Apollo exports its type only from a dist/ path). */
export type SubgraphResolvers = Extract<
  Extract<Parameters<typeof buildSubgraphSchema>[0], unknown[]>[number],
  { typeDefs: unknown }
>['resolvers']

export const prismaRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'prisma')

export async function buildSubgraph<Db extends PrismaLike, Ctx extends RequestContext>(
  o: SubgraphOptions<Db, Ctx>,
): Promise<Subgraph<Db>> {
  const { config } = o
  const logger = createLogger(config.service, config.logLevel)
  const applied = await migrateDatabase({ url: config.databaseUrl, dir: path.join(prismaRoot, o.database) })
  if (applied.length) logger.info({ applied }, 'migrations applied')
  const db = o.createDb(config.databaseUrl, config.dbPoolSize)
  const bus = new EventBus({
    url: config.natsUrl,
    auth: config.natsAuth,
    stream: config.natsStream,
    name: config.service,
    logger,
    extraStreams: o.streams,
  })

  let relay: OutboxRelay | undefined
  // kick is called only after a commit, by which time the relay below exists.
  const wired = o.setup({ db, kick: rows => relay?.kick(rows), logger, bus })
  if (wired.outbox)
    relay = new OutboxRelay({
      store: wired.outbox,
      bus,
      logger,
      pollIntervalMs: config.outboxPollIntervalMs,
      batchSize: config.outboxBatchSize,
    })
  const consumers = (wired.consumers ?? []).map(
    spec =>
      new EventConsumer({
        ...spec,
        bus,
        logger,
        concurrency: config.consumerConcurrency,
        maxAttempts: config.consumerMaxAttempts,
        backoffMs: config.consumerBackoffMs,
        ackWaitMs: config.consumerAckWaitMs,
        stallAfterMs: config.consumerStallMs,
      }),
  )

  const schema = buildSubgraphSchema({
    typeDefs: parse(readFileSync(o.schemaFile, 'utf8')),
    // The generated map is typed against the schema; Apollo's own resolver type is looser and lives in dist/.
    resolvers: o.resolvers as SubgraphResolvers,
  })
  const service = createHttpService<Ctx>({
    config,
    logger,
    // Closed: only the router and the other subgraphs (they carry the internal secret) are answered,
    // so reaching a subgraph directly gives nothing, not even an anonymous catalogue query.
    admit: headers => isInternalRequest(headers, config.internalSecret),
    apollo: shared => new ApolloServer<Ctx>({ ...shared, schema }),
    context: (base: RequestBase) =>
      wired.context({
        correlationId: base.correlationId,
        logger: base.logger,
        caller: contextError(() => callerFromHeaders(base.headers, config.internalSecret)),
        internal: isInternalRequest(base.headers, config.internalSecret),
      }),
  })
  service.health.addReadinessCheck('database', async () => {
    await db.$queryRawUnsafe('SELECT 1')
  })
  service.health.addReadinessCheck('nats', () => {
    if (!bus.isConnected()) throw new Error('not connected')
  })
  for (const c of consumers) service.health.addLivenessCheck(`consumer ${c.name}`, () => c.stalled())

  // Unwound in reverse: consumers stop taking events, the relay publishes what it has, then the bus and pool close.
  service.onStop(() => db.$disconnect())
  service.onStop(() => bus.close())
  service.onStop(async () => relay?.stop())
  service.onStop(async () => {
    await Promise.all(consumers.map(c => c.stop()))
  })

  return {
    service,
    logger,
    db,
    bus,
    relay,
    consumers,
    async start() {
      relay?.start()
      for (const c of consumers) c.start()
      return service.start()
    },
    stop: () => service.stop(),
  }
}
