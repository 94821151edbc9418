// Integration-test harness: starts the real processes (each service as its own `tsx` child, as in
// production) on free ports, against fresh PostgreSQL databases, a fresh SQLite file and a fresh
// JetStream stream, so test files never collide; and talks to them over real HTTP.
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { DEV_JWT_SECRET } from '@gdmarket/platform/config'
import { deadLetterStream } from '@gdmarket/platform/bus'
import { spawnNode, waitReady } from '@gdmarket/platform/spawn'
import { SERVICE_NAMES, SERVICES, SUBGRAPHS, type ServiceName, type SubgraphName } from '@gdmarket/contracts/services'
import { migrateDatabase } from '@gdmarket/platform/migrate'
import { itemInfoFeedStream } from '@gdmarket/contracts/item-info'
import type { Role } from '@gdmarket/platform/identity'
import { signToken } from '../router/src/auth.js'

export { eventually, sleep } from '@gdmarket/platform/wait'
export type { ServiceName }

export const ROOT = path.resolve(import.meta.dirname, '..')
const PG_ADMIN = process.env.TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}

export interface RunningService {
  name: ServiceName
  /** The name it was started under: the service's own name, or a second instance's (`startInstance`). */
  instance: string
  port: number
  url: string
  child: ChildProcess
  output: string[]
  exited: Promise<number | null>
}

/** One isolated GDmarket: its own databases, SQLite file, stream and ports. */
export class Stack {
  readonly id = `t${randomBytes(4).toString('hex')}`
  readonly stream = this.id.toUpperCase()
  readonly tmp = mkdtempSync(path.join(os.tmpdir(), 'gdmarket-'))
  readonly ports = {} as Record<ServiceName, number>
  /** By instance name: a service's own name, or the name given to `startInstance`. */
  readonly running = new Map<string, RunningService>()
  /** Extra instances: which service, on which port, with which env, so `restart` can bring them back. */
  private readonly instances = new Map<string, { service: ServiceName; port: number; env: NodeJS.ProcessEnv }>()
  natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'

  constructor(private readonly extraEnv: Partial<Record<ServiceName | 'all', NodeJS.ProcessEnv>> = {}) {}

  /** More environment for a service from its next start on (e.g. a DATABASE_URL through a test's TcpProxy). */
  setEnv(name: ServiceName | 'all', env: NodeJS.ProcessEnv): void {
    this.extraEnv[name] = { ...this.extraEnv[name], ...env }
  }

  databaseUrl(name: ServiceName): string {
    if (name === 'payment') return `file:${path.join(this.tmp, 'payment.db')}`
    return `postgresql://postgres@127.0.0.1:5432/gdm_${this.id}_${name}`
  }

  /** A subgraph's database migrated as its process would at start, for a test of its store without the process. */
  async migratedDatabase(name: SubgraphName): Promise<string> {
    const url = this.databaseUrl(name)
    await migrateDatabase({ url, dir: path.join(ROOT, 'prisma', SUBGRAPHS[name].database) })
    return url
  }

  url(name: ServiceName): string {
    return `http://127.0.0.1:${this.ports[name]}/graphql`
  }

  async allocatePorts(): Promise<void> {
    for (const name of SERVICE_NAMES) this.ports[name] ??= await freePort()
  }

  env(name: ServiceName): NodeJS.ProcessEnv {
    return {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      HOST: '127.0.0.1',
      PORT: String(this.ports[name]),
      NATS_URL: this.natsUrl,
      NATS_STREAM: this.stream,
      DATABASE_URL: this.databaseUrl(name),
      ITEM_URL: this.url('item'),
      RESERVATION_URL: this.url('reservation'),
      PAYMENT_URL: this.url('payment'),
      PROJECTIONS_URL: this.url('projections'),
      OUTBOX_POLL_INTERVAL_MS: '200',
      // Tests drive load from one address; a test about rate limiting turns it back on.
      RATE_LIMIT_ENABLED: '0',
      // A cold payment process can miss the production deadline (610 ms) on a loaded test machine;
      // tests about timeouts set their own. The reconciler must wait longer than the deadline.
      PAYMENT_TIMEOUT_MS: '5000',
      RECONCILE_AFTER_MS: '6000',
      CONSUMER_BACKOFF_MS: '50,100,200',
      ...this.extraEnv.all,
      ...this.extraEnv[name],
    }
  }

  /** Starts services (in parallel) and waits until each answers /health/ready. */
  async start(...names: ServiceName[]): Promise<void> {
    await this.allocatePorts()
    await Promise.all(names.map(n => this.startOne(n)))
  }

  /**
   * Starts another instance of `service` under its own name and a free port, sharing the service's
   * database and stream (as a second replica would), and waits until it is ready. `stop`, `restart`
   * and `logs` take the instance name.
   */
  async startInstance(instance: string, service: ServiceName, env: NodeJS.ProcessEnv = {}): Promise<RunningService> {
    if ((SERVICE_NAMES as readonly string[]).includes(instance))
      throw new Error(`instance name ${instance} is a service's own name`)
    await this.allocatePorts()
    const port = this.instances.get(instance)?.port ?? (await freePort())
    this.instances.set(instance, { service, port, env })
    return this.startOne(service, env, instance, port)
  }

  /** The port of a service or of an instance started with `startInstance`. */
  portOf(instance: string): number {
    return this.instances.get(instance)?.port ?? this.ports[instance as ServiceName]
  }

  private async startOne(
    name: ServiceName,
    env: NodeJS.ProcessEnv = {},
    instance: string = name,
    port = this.ports[name],
  ): Promise<RunningService> {
    const full: NodeJS.ProcessEnv = { ...this.env(name), PORT: String(port), ...env }
    // Flags NODE_OPTIONS may not carry (--cpu-prof), for a bench that profiles the services.
    const flags = full.GDMARKET_NODE_FLAGS?.split(' ').filter(Boolean) ?? []
    const proc = spawnNode([...flags, '--import', 'tsx/esm', SERVICES[name].entry], { cwd: ROOT, env: full })
    const { child, output, exited } = proc
    const svc: RunningService = { name, instance, port, url: `http://127.0.0.1:${port}/graphql`, child, output, exited }
    this.running.set(instance, svc)
    await waitReady(proc, `http://127.0.0.1:${port}/health/ready`, { name: instance })
    return svc
  }

  async restart(name: ServiceName | string): Promise<void> {
    const extra = this.instances.get(name)
    if (extra) await this.startOne(extra.service, extra.env, name, extra.port)
    else await this.startOne(name as ServiceName)
  }

  /** SIGTERM (graceful) or SIGKILL; resolves with the exit code (null when killed by a signal). */
  async stop(name: ServiceName | string, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const svc = this.running.get(name)
    if (!svc) return null
    this.running.delete(name)
    svc.child.kill(signal)
    return svc.exited
  }

  /** Stops everything and drops the databases and the stream. */
  async dispose(): Promise<void> {
    await Promise.all([...this.running.keys()].map(n => this.stop(n, 'SIGKILL')))
    const admin = new pg.Client(PG_ADMIN)
    await admin.connect()
    try {
      const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [
        `gdm_${this.id}_%`,
      ])
      for (const r of rows) await admin.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`)
    } finally {
      await admin.end()
    }
    await deleteStreams(this.natsUrl, this.stream)
    rmSync(this.tmp, { recursive: true, force: true })
  }

  logs(name: ServiceName | string): string {
    return this.running.get(name)?.output.join('') ?? ''
  }
}

async function deleteStreams(natsUrl: string, stream: string): Promise<void> {
  const { connect } = await import('nats')
  const nc = await connect({ servers: natsUrl, timeout: 2000 }).catch(() => undefined)
  if (!nc) return
  const jsm = await nc.jetstreamManager()
  for (const s of [stream, deadLetterStream(stream), itemInfoFeedStream(stream)])
    await jsm.streams.delete(s).catch(() => undefined)
  await nc.close()
}

export interface GqlResult<T = Record<string, unknown>> {
  status: number
  data?: T | null
  errors?: { message: string; extensions?: { code?: string; [k: string]: unknown } }[]
}

// biome-ignore lint/suspicious/noExplicitAny: tests read the data of any query they send
export async function gql<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
  headers: Record<string, string> = {},
): Promise<GqlResult<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify({ query, variables }),
  })
  const body = (await res.json()) as GqlResult<T>
  return { ...body, status: res.status }
}

/** The first error code, for asserting on the contract's codes. */
export const errorCode = (r: GqlResult<unknown>) => r.errors?.[0]?.extensions?.code

/** A token for the router, signed as `npm run token` signs one (one hour). */
export const token = (userId: string, name: string, roles: Role[], secret = DEV_JWT_SECRET): Promise<string> =>
  signToken({ userId, name, roles }, secret, { expiresIn: '1h' })
