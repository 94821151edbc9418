// Database URLs, pools and Prisma driver adapters, the same way for every service.
import path from 'node:path'
import pg from 'pg'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaLibSql } from '@prisma/adapter-libsql'
import { pgStatements, statementName, type Statements } from './statements.js'

export const isPostgresUrl = (url: string): boolean => /^postgres(ql)?:\/\//.test(url)

/** Discrete connection fields: pg lets a connectionString override `database`, which the migrator must not allow. */
export function pgConfig(url: string, extra: pg.PoolConfig = {}): pg.PoolConfig {
  const u = new URL(url)
  return {
    host: decodeURIComponent(u.hostname) || '127.0.0.1',
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username) || 'postgres',
    password: decodeURIComponent(u.password) || undefined,
    database: decodeURIComponent(u.pathname.slice(1)),
    ...extra,
  }
}

/** `file:./data/payment.db` → absolute path (relative to the working directory). */
export const sqliteFile = (url: string): string => path.resolve(url.replace(/^file:/, ''))

/** Pool limits: how many connections, and how long to wait for one that does not answer. */
export interface PoolOptions {
  connectTimeoutMs?: number
  queryTimeoutMs?: number
  /** Connections of the pool the service's own statements run on (beside Prisma's). */
  statementsPoolSize?: number
}

// bigint columns (sequences, stream positions) as BigInt, as Prisma reads them, not as strings.
const INT8 = 20
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 ? (v: string) => BigInt(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
}

/**
 * How each pool's sessions plan their statements. Both prepare a statement once per connection
 * (statements.ts), and a plan can outlive the table sizes it was made for: one made while a table
 * was small (a sequential scan) would stay as the table grows, until the next ANALYZE.
 * - Prisma's queries are many and some scan (a lookup with no index to serve it): they are
 *   planned again on every run, with the table as it is now.
 * - The service's own statements are few, and every one is an index lookup bounded by its inputs'
 *   ids: they keep one plan per connection, and never consider a sequential scan where an index
 *   serves, so a plan made on an empty table is still right on a large one. (Planning every run
 *   cost 0.4 ms of PostgreSQL CPU on the item's hold statement alone.)
 */
const SESSIONS = {
  prisma: '-c plan_cache_mode=force_custom_plan',
  statements: '-c enable_seqscan=off',
}

/** A pool of a PostgreSQL database, its sessions planning as `session` says. */
export function postgresPool(
  url: string,
  poolSize = 10,
  pool: PoolOptions = {},
  session: keyof typeof SESSIONS = 'prisma',
): pg.Pool {
  const created = new pg.Pool(
    pgConfig(url, {
      max: poolSize,
      // Without these a database behind a dropped link hangs a request forever instead of failing it.
      connectionTimeoutMillis: pool.connectTimeoutMs ?? 5_000,
      query_timeout: pool.queryTimeoutMs ?? 30_000,
      options: SESSIONS[session],
      types,
    }),
  )
  // An idle connection the server closed (a restart, a cut link) is dropped by the pool; without a
  // listener that 'error' would end the process. The next query opens a new one, or fails as an outage.
  created.on('error', () => undefined)
  return created
}

/** The driver adapter a generated Prisma client needs for this url (PostgreSQL on `pool` when given). */
export function prismaAdapter(url: string, poolSize = 10, pool: PoolOptions = {}, pgPool?: pg.Pool) {
  if (isPostgresUrl(url))
    return new PrismaPg(pgPool ?? postgresPool(url, poolSize, pool), {
      disposeExternalPool: true,
      // Prisma's queries prepared once per connection too (its texts are few: one per query shape).
      statementNameGenerator: query => statementName(query.sql) ?? '',
    })
  return new PrismaLibSql({ url: `file:${sqliteFile(url)}` })
}

/** `create(url, poolSize, pool)` for a service's generated Prisma client, with the adapter its url needs. */
export const prismaClientFactory =
  <C>(Client: new (options: { adapter: ReturnType<typeof prismaAdapter> }) => C) =>
  (url: string, poolSize: number, pool?: PoolOptions): C =>
    new Client({ adapter: prismaAdapter(url, poolSize, pool) })

/** A PostgreSQL database as a service holds it: its Prisma client, and its hot statements beside it. */
export type PostgresDatabase<C> = C & { statements: Statements }

/**
 * `create(url, poolSize, pool)` for a PostgreSQL service: the Prisma client with `statements`
 * beside it, each on a pool of its own (SESSIONS); `$disconnect` ends both.
 */
export const postgresClientFactory =
  <C extends object>(Client: new (options: { adapter: ReturnType<typeof prismaAdapter> }) => C) =>
  (url: string, poolSize: number, options: PoolOptions = {}): PostgresDatabase<C> => {
    const prisma = postgresPool(url, poolSize, options, 'prisma')
    const statements = postgresPool(url, options.statementsPoolSize ?? 4, options, 'statements')
    // Prisma ends its pool on $disconnect (disposeExternalPool); the statements' pool ends with it.
    const end = prisma.end.bind(prisma)
    prisma.end = (async () => {
      await Promise.all([end(), statements.end()])
    }) as typeof prisma.end
    return Object.assign(new Client({ adapter: prismaAdapter(url, poolSize, options, prisma) }), {
      statements: pgStatements(statements),
    })
  }
