// Configuration read once from the environment at start; every problem is reported together and
// the process stops with a clear message instead of failing later.
import { DEFAULT_LIVENESS_BLOCKED_WINDOW_MS } from './health.js'
import { DEFAULT_STREAM_LIMITS, type StreamLimits } from './bus.js'

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
  }
}

export class ConfigReader {
  readonly problems: string[] = []
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  string(name: string, fallback?: string): string {
    const v = this.env[name]
    if (v !== undefined && v !== '') return v
    if (fallback === undefined) this.problems.push(`${name} is required`)
    return fallback ?? ''
  }

  int(name: string, fallback: number, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number {
    const raw = this.env[name]
    if (raw === undefined || raw === '') return fallback
    const n = Number(raw)
    if (!Number.isInteger(n) || n < min || n > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max}, got "${raw}"`)
      return fallback
    }
    return n
  }

  oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
    const raw = this.env[name]
    if (raw === undefined || raw === '') return fallback
    if (!values.includes(raw as T)) this.problems.push(`${name} must be one of ${values.join(', ')}, got "${raw}"`)
    return values.includes(raw as T) ? (raw as T) : fallback
  }

  url(name: string, fallback: string): string {
    const v = this.string(name, fallback)
    try {
      new URL(v)
    } catch {
      this.problems.push(`${name} must be a URL, got "${v}"`)
    }
    return v
  }

  /** A secret with a development default that production refuses. */
  secret(name: string, devDefault: string, mode: RuntimeMode): string {
    const v = this.string(name, devDefault)
    if (mode === 'production' && v === devDefault)
      this.problems.push(`${name} must be set in production (the development default is refused)`)
    if (v.length < 16) this.problems.push(`${name} must be at least 16 characters`)
    return v
  }

  problem(message: string): void {
    this.problems.push(message)
  }
}

/** Builds a config object with `build`, then throws one ConfigError listing every problem found. */
export function readConfig<T>(build: (r: ConfigReader) => T, env: NodeJS.ProcessEnv = process.env): T {
  const reader = new ConfigReader(env)
  const config = build(reader)
  if (reader.problems.length) throw new ConfigError(reader.problems)
  return config
}

export type RuntimeMode = 'development' | 'production' | 'test'

export const DEFAULT_PAYMENT_MAX_AMOUNT = 1_000_000

/**
 * The largest amount payment approves, read the same way by payment (it declines above it) and by
 * item (whose price limit may not exceed it), so an item that can be reserved can also be paid.
 */
export const readPaymentMaxAmount = (r: ConfigReader): number =>
  r.int('PAYMENT_MAX_AMOUNT', DEFAULT_PAYMENT_MAX_AMOUNT, { min: 0 })

export const DEV_INTERNAL_SECRET = 'gdmarket-internal-dev-secret'
export const DEV_JWT_SECRET = 'gdmarket-dev-secret'

/** What every GDmarket process needs, the same way. */
export interface ServiceConfig {
  service: string
  mode: RuntimeMode
  host: string
  port: number
  logLevel: string
  natsUrl: string
  natsStream: string
  /** Credentials NATS asks for (NATS_USER + NATS_PASSWORD, or NATS_TOKEN); empty when it asks for none. */
  natsAuth: NatsAuth
  natsStreamLimits: StreamLimits
  internalSecret: string
  /** After SIGTERM: stay up, not-ready, this long so load balancers stop sending before we close. */
  shutdownGraceMs: number
  /** After SIGTERM: give in-flight work at most this long before exiting anyway. */
  shutdownTimeoutMs: number
  /** Liveness turns 503 when the event loop was blocked longer than this… */
  livenessMaxEventLoopDelayMs: number
  /** …and stays 503 this long after, so a probe every few seconds cannot miss it. */
  livenessBlockedWindowMs: number
  /** Test-only routes (POST /debug/block); only with NODE_ENV=test and GDMARKET_DEBUG_ROUTES=1. */
  debugRoutes: boolean
}

export function readServiceConfig(r: ConfigReader, service: string, defaultPort: number): ServiceConfig {
  const mode = r.oneOf('NODE_ENV', ['development', 'production', 'test'] as const, 'development')
  return {
    service,
    mode,
    host: r.string('HOST', '0.0.0.0'),
    port: r.int('PORT', defaultPort, { min: 0, max: 65535 }),
    logLevel: r.oneOf(
      'LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const,
      mode === 'test' ? 'warn' : 'info',
    ),
    natsUrl: r.string('NATS_URL', 'nats://127.0.0.1:4222'),
    natsStream: r.string('NATS_STREAM', 'GDMARKET'),
    natsAuth: readNatsAuth(r),
    natsStreamLimits: readStreamLimits(r),
    internalSecret: r.secret('INTERNAL_SECRET', DEV_INTERNAL_SECRET, mode),
    shutdownGraceMs: r.int('SHUTDOWN_GRACE_MS', mode === 'production' ? 5000 : 0, { max: 600_000 }),
    shutdownTimeoutMs: r.int('SHUTDOWN_TIMEOUT_MS', 15_000, { min: 100, max: 600_000 }),
    livenessMaxEventLoopDelayMs: r.int('LIVENESS_MAX_EVENT_LOOP_DELAY_MS', 5_000, { min: 10 }),
    livenessBlockedWindowMs: r.int('LIVENESS_BLOCKED_WINDOW_MS', DEFAULT_LIVENESS_BLOCKED_WINDOW_MS, { max: 600_000 }),
    debugRoutes: readDebugRoutes(r, mode),
  }
}

/** How a process proves itself to NATS; the names are nats.js's own connection options. */
export interface NatsAuth {
  user?: string
  pass?: string
  token?: string
}

/** A user and its password go together; a token stands alone. None: NATS without authorization (development). */
/** Retention windows: each longer than the stream's duplicate window (platform/src/retention.ts says why). */
function readRetention(r: ConfigReader) {
  const duplicateWindowMs = r.int('NATS_DUPLICATE_WINDOW_MS', DEFAULT_STREAM_LIMITS.duplicateWindowMs, {
    min: 1000,
    max: 24 * 3600_000,
  })
  const windows = {
    outboxRetentionMs: r.int('OUTBOX_RETENTION_MS', 24 * 3600_000, { min: 1000 }),
    processedEventRetentionMs: r.int('PROCESSED_EVENT_RETENTION_MS', 7 * 24 * 3600_000, { min: 1000 }),
    retentionIntervalMs: r.int('RETENTION_INTERVAL_MS', 10 * 60_000, { min: 100, max: 24 * 3600_000 }),
  }
  if (windows.outboxRetentionMs <= duplicateWindowMs)
    r.problem('OUTBOX_RETENTION_MS must be longer than NATS_DUPLICATE_WINDOW_MS')
  if (windows.processedEventRetentionMs <= duplicateWindowMs)
    r.problem('PROCESSED_EVENT_RETENTION_MS must be longer than NATS_DUPLICATE_WINDOW_MS')
  return windows
}

/** The streams' replicas and limits (platform/src/bus.ts StreamLimits). */
export function readStreamLimits(r: ConfigReader): StreamLimits {
  const d = DEFAULT_STREAM_LIMITS
  const limits: StreamLimits = {
    replicas: r.int('NATS_STREAM_REPLICAS', d.replicas, { min: 1, max: 5 }),
    maxAgeMs: r.int('NATS_STREAM_MAX_AGE_MS', d.maxAgeMs, { min: 0 }),
    maxBytes: r.int('NATS_STREAM_MAX_BYTES', d.maxBytes, { min: 1024 * 1024 }),
    duplicateWindowMs: r.int('NATS_DUPLICATE_WINDOW_MS', d.duplicateWindowMs, { min: 1000, max: 24 * 3600_000 }),
    warnRatio: r.int('NATS_STREAM_WARN_PERCENT', d.warnRatio * 100, { min: 1, max: 100 }) / 100,
    watchIntervalMs: r.int('NATS_STREAM_WATCH_INTERVAL_MS', d.watchIntervalMs, { min: 100, max: 3600_000 }),
  }
  if (limits.maxAgeMs > 0 && limits.maxAgeMs <= limits.duplicateWindowMs)
    r.problem('NATS_STREAM_MAX_AGE_MS must be 0 (kept) or longer than NATS_DUPLICATE_WINDOW_MS')
  return limits
}

export function readNatsAuth(r: ConfigReader): NatsAuth {
  const user = r.string('NATS_USER', '')
  const pass = r.string('NATS_PASSWORD', '')
  const token = r.string('NATS_TOKEN', '')
  if (Boolean(user) !== Boolean(pass)) r.problem('NATS_USER and NATS_PASSWORD must be set together')
  if (token && user) r.problem('set either NATS_TOKEN or NATS_USER/NATS_PASSWORD, not both')
  return { ...(user ? { user, pass } : {}), ...(token ? { token } : {}) }
}

function readDebugRoutes(r: ConfigReader, mode: RuntimeMode): boolean {
  const on = r.oneOf('GDMARKET_DEBUG_ROUTES', ['0', '1'] as const, '0') === '1'
  if (on && mode !== 'test') r.problem('GDMARKET_DEBUG_ROUTES=1 is allowed only with NODE_ENV=test')
  return on && mode === 'test'
}

/** Outbox relay, event consumers and database pool: the same knobs in every service that has them. */
export interface EventsConfig {
  databaseUrl: string
  dbPoolSize: number
  /** Connections for the service's own statements (PostgreSQL), beside Prisma's dbPoolSize. */
  dbStatementsPoolSize: number
  /** A connection attempt to the database fails after this long (a database that does not answer). */
  dbConnectTimeoutMs: number
  /** A query that gets no answer this long fails (client side: a connection that went silent). */
  dbQueryTimeoutMs: number
  /** Longest wait between two tries while the database is unreachable at start (migrations wait too). */
  dbStartupBackoffMaxMs: number
  outboxPollIntervalMs: number
  outboxBatchSize: number
  /** Rows published right after their commit are marked published together, at most this long after. */
  outboxMarkDelayMs: number
  consumerConcurrency: number
  consumerMaxAckPending: number
  consumerMaxAttempts: number
  consumerBackoffMs: number[]
  consumerOutageBackoffMaxMs: number
  consumerAckWaitMs: number
  consumerHeartbeatMs: number
  consumerOrderPollMaxMs: number
  consumerStallMs: number
  consumerPullExpiresMs: number
  /** Most events a consumer applies in one transaction. */
  consumerBatchMax: number
  consumerBatchLingerMs: number
  /** Published outbox rows are deleted this long after publishing. */
  outboxRetentionMs: number
  /** Processed-event ids are deleted this long after the event was applied. */
  processedEventRetentionMs: number
  /** How often the retention job runs. */
  retentionIntervalMs: number
}

/** `defaultDatabaseUrl`: the service's own database unless DATABASE_URL says otherwise (the service catalogue's). */
export function readEventsConfig(r: ConfigReader, defaultDatabaseUrl: string): EventsConfig {
  const backoff = r.string('CONSUMER_BACKOFF_MS', '100,500,2000,5000')
  const consumerBackoffMs = backoff.split(',').map(Number)
  if (consumerBackoffMs.some(n => !Number.isInteger(n) || n < 0))
    r.problem(`CONSUMER_BACKOFF_MS must be comma-separated milliseconds, got "${backoff}"`)
  // Short: a killed instance's events come back to another one this soon; the heartbeat keeps
  // events that take longer (retries, a database outage) from being redelivered meanwhile.
  const consumerAckWaitMs = r.int('CONSUMER_ACK_WAIT_MS', 5_000, { min: 500, max: 600_000 })
  const consumerHeartbeatMs = r.int('CONSUMER_HEARTBEAT_MS', Math.floor(consumerAckWaitMs / 3), { min: 50 })
  if (consumerHeartbeatMs * 2 > consumerAckWaitMs)
    r.problem('CONSUMER_HEARTBEAT_MS must be at most half of CONSUMER_ACK_WAIT_MS, or events in hand get redelivered')
  const consumerConcurrency = r.int('CONSUMER_CONCURRENCY', 16, { min: 1, max: 1000 })
  const consumerMaxAckPending = r.int('CONSUMER_MAX_ACK_PENDING', consumerConcurrency * 4, { min: 1, max: 100_000 })
  if (consumerMaxAckPending < consumerConcurrency)
    r.problem('CONSUMER_MAX_ACK_PENDING must be at least CONSUMER_CONCURRENCY')
  return {
    databaseUrl: r.string('DATABASE_URL', defaultDatabaseUrl),
    dbPoolSize: r.int('DB_POOL_SIZE', 10, { min: 1, max: 200 }),
    dbStatementsPoolSize: r.int('DB_STATEMENTS_POOL_SIZE', 4, { min: 1, max: 200 }),
    dbConnectTimeoutMs: r.int('DB_CONNECT_TIMEOUT_MS', 5_000, { min: 100, max: 600_000 }),
    dbQueryTimeoutMs: r.int('DB_QUERY_TIMEOUT_MS', 30_000, { min: 100, max: 3_600_000 }),
    dbStartupBackoffMaxMs: r.int('DB_STARTUP_BACKOFF_MAX_MS', 5_000, { min: 10, max: 600_000 }),
    outboxPollIntervalMs: r.int('OUTBOX_POLL_INTERVAL_MS', 1000, { min: 10 }),
    outboxBatchSize: r.int('OUTBOX_BATCH_SIZE', 100, { min: 1, max: 10_000 }),
    outboxMarkDelayMs: r.int('OUTBOX_MARK_DELAY_MS', 100, { min: 0, max: 60_000 }),
    consumerConcurrency,
    consumerMaxAckPending,
    consumerMaxAttempts: r.int('CONSUMER_MAX_ATTEMPTS', 10, { min: 1 }),
    consumerBackoffMs,
    consumerOutageBackoffMaxMs: r.int('CONSUMER_OUTAGE_BACKOFF_MAX_MS', 5_000, { min: 10, max: 600_000 }),
    consumerAckWaitMs,
    consumerHeartbeatMs,
    consumerOrderPollMaxMs: r.int('CONSUMER_ORDER_POLL_MAX_MS', 500, { min: 10, max: 60_000 }),
    consumerStallMs: r.int('CONSUMER_STALL_MS', 60_000, { min: 100 }),
    consumerPullExpiresMs: r.int('CONSUMER_PULL_EXPIRES_MS', 5_000, { min: 1000, max: 300_000 }),
    consumerBatchMax: r.int('CONSUMER_BATCH_MAX', 32, { min: 1, max: 1000 }),
    consumerBatchLingerMs: r.int('CONSUMER_BATCH_LINGER_MS', 20, { min: 0, max: 1000 }),
    ...readRetention(r),
  }
}
