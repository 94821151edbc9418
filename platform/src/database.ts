// Database URLs and Prisma driver adapters, the same way for every service.
import path from 'node:path'
import type pg from 'pg'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaLibSql } from '@prisma/adapter-libsql'

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
}

/** The driver adapter a generated Prisma client needs for this url. */
export function prismaAdapter(url: string, poolSize = 10, pool: PoolOptions = {}) {
  if (isPostgresUrl(url))
    return new PrismaPg(
      pgConfig(url, {
        max: poolSize,
        // Without these a database behind a dropped link hangs a request forever instead of failing it.
        connectionTimeoutMillis: pool.connectTimeoutMs ?? 5_000,
        query_timeout: pool.queryTimeoutMs ?? 30_000,
      }),
    )
  return new PrismaLibSql({ url: `file:${sqliteFile(url)}` })
}

/** `create(url, poolSize, pool)` for a service's generated Prisma client, with the adapter its url needs. */
export const prismaClientFactory =
  <C>(Client: new (options: { adapter: ReturnType<typeof prismaAdapter> }) => C) =>
  (url: string, poolSize: number, pool?: PoolOptions): C =>
    new Client({ adapter: prismaAdapter(url, poolSize, pool) })
