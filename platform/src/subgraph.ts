// Builds a GDmarket subgraph process the same way for every service: config → Prisma client → NATS
// bus → outbox relay → event consumers → Apollo subgraph over the platform's HTTP service, with
// readiness on the database and NATS and a stop that unwinds it all in order. On start it listens at
// once (live, not ready, answering SERVICE_UNAVAILABLE) and applies migrations with backoff until the
// database answers: a service started while its database is down waits instead of exiting.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ApolloServer, type BaseContext } from '@apollo/server'
import { buildSubgraphSchema } from '@apollo/subgraph'
import { GraphQLError, parse } from 'graphql'
import { AppError, serviceUnavailable } from './errors.js'
import { EventBus, type StreamSpec } from './bus.js'
import type { EventsConfig, ServiceConfig } from './config.js'
import { EventConsumer, type DeclaredConsumer } from './consumer.js'
import { callerFromHeaders, isInternalRequest, type Caller } from './identity.js'
import { idempotencyKeyOf } from './idempotency.js'
import { createLogger, type Logger } from './logger.js'
import { migrateDatabase } from './migrate.js'
import type { PoolOptions } from './database.js'
import { processedEventLedger, type ProcessedEventTable } from './stream-order.js'
import { Retention, standardPruners, type PrunableTables, type Pruner } from './retention.js'
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
  /** The client's Idempotency-Key, forwarded by the router; null without one (see idempotency.ts). */
  idempotencyKey: string | null
}

/** Another subgraph's entity as a resolver gets it: its key, nothing else. */
export interface EntityRef {
  id: string
}

export interface PrismaLike {
  $disconnect(): Promise<void>
  $queryRawUnsafe(query: string): Promise<unknown>
}

export interface SubgraphOptions<Db extends PrismaLike, Ctx extends RequestContext> {
  config: SubgraphConfig
  /**
   * The service's entry in the catalogue (contracts/services.ts): its database folder under prisma/
   * (schema.prisma + migrations/) and its .graphql file, from the repository root.
   */
  entry: { database: string; sdl: string }
  createDb: (url: string, poolSize: number, pool: PoolOptions) => Db
  /** JetStream streams of the service's own, beside the event stream. */
  streams?: StreamSpec[]
  /** The subgraph's generated `Resolvers` map (generated/<db>/resolvers.ts), typed by its schema. */
  resolvers: object
  /** Wires the service's use cases once: the per-request context and the event consumers. */
  setup: (runtime: { db: Db; kick: Kick; logger: Logger; bus: EventBus }) => {
    context: (request: RequestContext) => Ctx
    /** Each made by `consumer(...)` from its handler table. */
    consumers?: DeclaredConsumer[]
    /** The service's outbox table, published by a relay; omit for a service that emits no events. */
    outbox?: OutboxStore
    /** Rows of the service's own to prune beside the outbox and processed-event ids (e.g. idempotency records). */
    retention?: Pruner[]
    /** Background work of the service's own (e.g. a reconciler): started with it, stopped before its bus and pool. */
    workers?: Worker[]
  }
}

export interface Worker {
  start(): void
  stop(): Promise<void>
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
        extensions: { code: e.code, http: { status: CONTEXT_STATUS[e.code] ?? 400 } },
      })
    throw e
  }
}

/** The resolver map buildSubgraphSchema takes (Apollo exports its type only from a dist/ path). */
export type SubgraphResolvers = Extract<
  Extract<Parameters<typeof buildSubgraphSchema>[0], unknown[]>[number],
  { typeDefs: unknown }
>['resolvers']

const CONTEXT_STATUS: Partial<Record<AppError['code'], number>> = { UNAUTHENTICATED: 401, SERVICE_UNAVAILABLE: 503 }

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const prismaRoot = path.join(repoRoot, 'prisma')

type SubgraphConfig = ServiceConfig & EventsConfig
type Wired<Ctx extends RequestContext> = ReturnType<SubgraphOptions<PrismaLike, Ctx>['setup']>

/** Whether the start-up migrations are applied yet, and why not. Until then the service is not ready. */
interface StartupState {
  migrated: boolean
  lastError: string
  stopping: boolean
}

/** What runs beside the HTTP service, started once migrated and stopped in reverse. */
interface Parts<Db extends PrismaLike> {
  db: Db
  bus: EventBus
  relay: OutboxRelay | undefined
  retention: Retention
  consumers: EventConsumer[]
  workers: Worker[]
}

export async function buildSubgraph<Db extends PrismaLike, Ctx extends RequestContext>(
  o: SubgraphOptions<Db, Ctx>,
): Promise<Subgraph<Db>> {
  const { config } = o
  const logger = createLogger(config.service, config.logLevel)
  const db = o.createDb(config.databaseUrl, config.dbPoolSize, {
    statementsPoolSize: config.dbStatementsPoolSize,
    connectTimeoutMs: config.dbConnectTimeoutMs,
    queryTimeoutMs: config.dbQueryTimeoutMs,
  })
  const bus = eventBus(config, logger, o.streams)
  const state: StartupState = { migrated: false, lastError: 'not tried yet', stopping: false }

  let relay: OutboxRelay | undefined
  // kick is called only after a commit, by which time the relay below exists.
  const wired = o.setup({ db, kick: rows => relay?.kick(rows), logger, bus })
  if (wired.outbox) relay = outboxRelay(config, wired.outbox, bus, logger)
  const parts: Parts<Db> = {
    db,
    bus,
    relay,
    retention: retentionOf(config, db, wired.retention ?? [], logger),
    consumers: eventConsumers(config, wired.consumers ?? [], bus, logger, ledgerOf(db)),
    workers: wired.workers ?? [],
  }

  const service = subgraphService(o, logger, wired, state)
  addHealthChecks(service, parts, state)
  unwindOnStop(service, parts, state)
  return {
    service,
    logger,
    db,
    bus,
    relay,
    consumers: parts.consumers,
    async start() {
      const port = await service.start()
      void migrateThenRun(config, o.entry.database, { service, logger, state, parts })
      return port
    },
    stop: () => service.stop(),
  }
}

/** Every consumer database has a ProcessedEvent table: it is also the ledger that keeps order across replicas. */
function ledgerOf(db: PrismaLike) {
  const processed = (db as unknown as { processedEvent?: ProcessedEventTable }).processedEvent
  return processed ? processedEventLedger(processed) : undefined
}

function eventConsumers(
  config: EventsConfig,
  specs: DeclaredConsumer[],
  bus: EventBus,
  logger: Logger,
  ledger: ReturnType<typeof ledgerOf>,
): EventConsumer[] {
  return specs.map(
    spec =>
      new EventConsumer({
        ...spec,
        bus,
        logger,
        ledger,
        concurrency: config.consumerConcurrency,
        maxAckPending: config.consumerMaxAckPending,
        maxAttempts: config.consumerMaxAttempts,
        backoffMs: config.consumerBackoffMs,
        outageBackoffMaxMs: config.consumerOutageBackoffMaxMs,
        ackWaitMs: config.consumerAckWaitMs,
        heartbeatMs: config.consumerHeartbeatMs,
        orderPollMaxMs: config.consumerOrderPollMaxMs,
        stallAfterMs: config.consumerStallMs,
        pullExpiresMs: config.consumerPullExpiresMs,
        batchMax: config.consumerBatchMax,
        batchLingerMs: config.consumerBatchLingerMs,
      }),
  )
}

/** Unwound in reverse: consumers stop taking events, the relay publishes what it has, then the bus and pool close. */
function unwindOnStop(service: HttpService, parts: Parts<PrismaLike>, state: StartupState): void {
  const { db, bus, retention, relay, workers, consumers } = parts
  service.onStop(() => db.$disconnect())
  service.onStop(() => bus.close())
  service.onStop(() => retention.stop())
  service.onStop(async () => relay?.stop())
  service.onStop(async () => {
    await Promise.all(workers.map(w => w.stop()))
  })
  service.onStop(async () => {
    await Promise.all(consumers.map(c => c.stop()))
  })
  service.onStopping(() => {
    state.stopping = true
  })
}

function eventBus(config: SubgraphConfig, logger: Logger, streams?: StreamSpec[]) {
  return new EventBus({
    url: config.natsUrl,
    auth: config.natsAuth,
    limits: config.natsStreamLimits,
    stream: config.natsStream,
    name: config.service,
    logger,
    extraStreams: streams,
  })
}

function outboxRelay(config: EventsConfig, store: OutboxStore, bus: EventBus, logger: Logger): OutboxRelay {
  return new OutboxRelay({
    store,
    bus,
    logger,
    pollIntervalMs: config.outboxPollIntervalMs,
    batchSize: config.outboxBatchSize,
    markDelayMs: config.outboxMarkDelayMs,
  })
}

/** The outbox and processed-event ids every service prunes, then the service's own rows. */
function retentionOf(config: EventsConfig, db: PrismaLike, own: Pruner[], logger: Logger): Retention {
  const standard = standardPruners(db as unknown as PrunableTables, {
    outboxMs: config.outboxRetentionMs,
    processedMs: config.processedEventRetentionMs,
  })
  return new Retention([...standard, ...own], config.retentionIntervalMs, logger)
}

/** The Apollo subgraph over the platform's HTTP service, answering only GDmarket processes. */
function subgraphService<Ctx extends RequestContext>(
  o: Pick<SubgraphOptions<PrismaLike, Ctx>, 'config' | 'entry' | 'resolvers'>,
  logger: Logger,
  wired: Wired<Ctx>,
  state: StartupState,
): HttpService {
  const { config } = o
  const schema = buildSubgraphSchema({
    typeDefs: parse(readFileSync(path.join(repoRoot, o.entry.sdl), 'utf8')),
    // The generated map is typed against the schema; Apollo's own resolver type is looser and lives in dist/.
    resolvers: o.resolvers as SubgraphResolvers,
  })
  return createHttpService<Ctx>({
    config,
    logger,
    // Closed: only the router and the other subgraphs (they carry the internal secret) are answered,
    // so reaching a subgraph directly gives nothing, not even an anonymous catalogue query.
    admit: headers => isInternalRequest(headers, config.internalSecret),
    apollo: shared => new ApolloServer<Ctx>({ ...shared, schema }),
    context: (base: RequestBase) => {
      if (!state.migrated)
        contextError(() => {
          throw serviceUnavailable(`${config.service} is starting: waiting for its database`)
        })
      return wired.context({
        correlationId: base.correlationId,
        logger: base.logger,
        caller: contextError(() => callerFromHeaders(base.headers, config.internalSecret)),
        internal: isInternalRequest(base.headers, config.internalSecret),
        idempotencyKey: contextError(() => idempotencyKeyOf(base.headers)),
      })
    },
  })
}

function addHealthChecks(service: HttpService, parts: Parts<PrismaLike>, state: StartupState): void {
  const { db, bus, consumers } = parts
  service.health.addReadinessCheck('database', async () => {
    if (!state.migrated) throw new Error(`waiting for the database: ${state.lastError}`)
    await db.$queryRawUnsafe('SELECT 1')
  })
  service.health.addReadinessCheck('nats', () => {
    if (!bus.isConnected()) throw new Error('not connected')
  })
  for (const c of consumers) service.health.addLivenessCheck(`consumer ${c.name}`, () => c.stalled())
}

/** Migrations with capped backoff until the database answers (or the service stops); then the rest starts. */
async function migrateThenRun(
  config: SubgraphConfig,
  database: string,
  on: { service: HttpService; logger: Logger; state: StartupState; parts: Parts<PrismaLike> },
): Promise<void> {
  const { service, logger, state, parts } = on
  for (let delay = 100; !state.stopping && !state.migrated; delay = Math.min(delay * 2, config.dbStartupBackoffMaxMs)) {
    try {
      const applied = await migrateDatabase({ url: config.databaseUrl, dir: path.join(prismaRoot, database) })
      if (applied.length) logger.info({ applied }, 'migrations applied')
      // Loading the migration engine blocks the loop once; that is start-up, not a wedge.
      service.health.forgetBlocks()
      state.migrated = true
    } catch (err) {
      state.lastError = err instanceof Error ? err.message : String(err)
      logger.warn({ err, retryInMs: delay }, 'database not reachable at start; waiting')
      await new Promise(r => setTimeout(r, delay))
    }
  }
  if (state.stopping) return
  parts.retention.start()
  parts.relay?.start()
  for (const c of parts.consumers) c.start()
  for (const w of parts.workers) w.start()
}
