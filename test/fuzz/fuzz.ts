// The fuzz suite's runner: the whole GDmarket (every process, production mode, its own databases
// and stream) and fast-check's generated requests (generate.ts) sent one after another through the
// router. Every answer is checked against the contract: a documented error code on every error,
// no 5xx but 503 for a subgraph that is down (payment is killed for the last part of the run), no
// stack trace or source path, JSON unless it is the landing page. A mutation that is refused must
// leave every table of every database with the row count it had. The router's memory is sampled
// and must stay within a bound. Violations are collected (not thrown at the first), so one run
// reports every kind of failure it met; counts by code, status and kind are reported too.
import { randomBytes, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Supergraph } from '@apollo/federation-internals'
import { createClient, type Client as SqliteClient } from '@libsql/client'
import fc from 'fast-check'
import type { GraphQLSchema } from 'graphql'
import { SignJWT } from 'jose'
import pg from 'pg'
import { ERROR_CODES } from '@gdmarket/platform/errors'
import { signToken } from '../../router/src/auth.js'
import { composeSupergraph } from '../../router/src/supergraph.js'
import { gql, Stack, sleep } from '../harness.js'
import { type FuzzRequest, type FuzzTokens, fuzzRequests } from './generate.js'

/** Codes an answer may carry: the contract's, and Apollo's standard ones the contract allows. */
export const DOCUMENTED_CODES = new Set<string>([
  ...ERROR_CODES,
  'QUERY_TOO_COMPLEX',
  'RATE_LIMITED',
  'CURSOR_EXPIRED',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  // Apollo's automatic persisted queries: the client's cue to send the full document.
  'PERSISTED_QUERY_NOT_FOUND',
])
const DOWN_CODES = new Set(['SERVICE_UNAVAILABLE', 'PAYMENT_UNAVAILABLE'])
/** What a leaked stack trace or source location looks like. */
const STACK_TRACE = /stacktrace|\bat [\w.<>]+ \(|node_modules|\.ts:\d+|\.js:\d+|Prisma|ECONNREFUSED|127\.0\.0\.1:\d+/

export interface FuzzOptions {
  runs: number
  seed: number
  /** Share of the run after which the payment subgraph is killed (so 503 / *_UNAVAILABLE appear). */
  killPaymentAfter?: number
  /** How much the router's RSS may grow past its level at 10 % of the run. */
  maxRssGrowthMb?: number
  log?: (line: string) => void
}

export interface FuzzReport {
  runs: number
  seed: number
  durationMs: number
  byCode: Record<string, number>
  byStatus: Record<string, number>
  byKind: Record<string, number>
  refusedMutationsChecked: number
  mutationsThatChangedRows: number
  acceptedMutations: number
  /** Time to start the stack and seed it, before the first generated request. */
  startMs: number
  rss: { baselineMb: number; maxMb: number; samples: number }
  violations: string[]
}

const bump = (tally: Record<string, number>, key: string) => {
  tally[key] = (tally[key] ?? 0) + 1
}

/** Row counts of every table in every database of the stack. */
class RowCounter {
  private readonly pgClients = new Map<string, pg.Client>()
  private readonly pgTables = new Map<string, string[]>()
  private sqlite: SqliteClient | undefined

  constructor(private readonly stack: Stack) {}

  async counts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {}
    for (const db of ['item', 'reservation', 'projections'] as const) {
      let client = this.pgClients.get(db)
      if (!client) {
        client = new pg.Client(this.stack.databaseUrl(db))
        await client.connect()
        this.pgClients.set(db, client)
      }
      let tables = this.pgTables.get(db)
      if (!tables) {
        const { rows } = await client.query<{ name: string }>(
          `SELECT table_name AS name FROM information_schema.tables
           WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations'`,
        )
        tables = rows.map(r => r.name)
        this.pgTables.set(db, tables)
      }
      if (!tables.length) continue
      const { rows } = await client.query(
        `SELECT ${tables.map(t => `(SELECT count(*) FROM "${t}")::int AS "${t}"`).join(', ')}`,
      )
      for (const [table, n] of Object.entries(rows[0] as Record<string, number>)) out[`${db}.${table}`] = n
    }
    this.sqlite ??= createClient({ url: this.stack.databaseUrl('payment') })
    const tables = await this.sqlite.execute(
      `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_prisma_migrations'`,
    )
    for (const row of tables.rows) {
      const name = String(row.name)
      const counted = await this.sqlite.execute(`SELECT count(*) AS n FROM "${name}"`)
      out[`payment.${name}`] = Number(counted.rows[0].n)
    }
    return out
  }

  /** Waits until the counts stop moving (events of an accepted mutation still travelling). */
  async settled(maxMs = 15_000): Promise<Record<string, number>> {
    const deadline = Date.now() + maxMs
    let last = await this.counts()
    let stableFor = 0
    while (Date.now() < deadline && stableFor < 2) {
      await sleep(400)
      const now = await this.counts()
      stableFor = JSON.stringify(now) === JSON.stringify(last) ? stableFor + 1 : 0
      last = now
    }
    return last
  }

  async close(): Promise<void> {
    await Promise.all([...this.pgClients.values()].map(c => c.end()))
    this.sqlite?.close()
  }
}

const diff = (a: Record<string, number>, b: Record<string, number>) =>
  [...new Set([...Object.keys(a), ...Object.keys(b)])].filter(k => a[k] !== b[k]).map(k => `${k} ${a[k]}→${b[k]}`)

function rssMb(pid: number | undefined): number {
  if (!pid) return 0
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb ? Math.round(Number(kb) / 1024) : 0
  } catch {
    return 0
  }
}

async function mintTokens(secret: string): Promise<{ tokens: FuzzTokens; ownerId: string; renterId: string }> {
  const ownerId = randomUUID()
  const renterId = randomUUID()
  const key = new TextEncoder().encode(secret)
  const unsigned = (claims: object) =>
    `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`
  return {
    ownerId,
    renterId,
    tokens: {
      owner: await signToken({ userId: ownerId, name: 'Fuzz Owner', roles: ['owner'] }, secret),
      renter: await signToken({ userId: renterId, name: 'Fuzz Renter', roles: ['renter'] }, secret),
      both: await signToken({ userId: randomUUID(), name: 'Fuzz Both', roles: ['owner', 'renter'] }, secret),
      expired: await signToken({ userId: ownerId, name: 'Fuzz Owner', roles: ['owner'] }, secret, { expiresIn: -3600 }),
      wrongSecret: await signToken(
        { userId: ownerId, name: 'Fuzz Owner', roles: ['owner'] },
        'some-other-secret-value',
      ),
      noExpiry: await new SignJWT({ name: 'Fuzz', roles: ['owner'] })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(ownerId)
        .setIssuedAt()
        .sign(key),
      algNone: unsigned({ sub: ownerId, name: 'Fuzz', roles: ['owner'], exp: Math.floor(Date.now() / 1000) + 600 }),
    },
  }
}

/** The public API schema the router serves (production has no introspection, so it is composed here). */
export const apiSchema = (): GraphQLSchema => Supergraph.build(composeSupergraph()).apiSchema().toGraphQLJSSchema()

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const log = options.log ?? (() => {})
  const jwtSecret = randomBytes(24).toString('hex')
  const stack = new Stack({
    all: {
      NODE_ENV: 'production',
      LOG_LEVEL: 'error',
      JWT_SECRET: jwtSecret,
      INTERNAL_SECRET: randomBytes(24).toString('hex'),
      SHUTDOWN_GRACE_MS: '0',
    },
    // Rate limiting on, generous enough that most requests are judged on their content.
    router: {
      RATE_LIMIT_ENABLED: '1',
      RATE_LIMIT_ANONYMOUS_BURST: '2000',
      RATE_LIMIT_ANONYMOUS_PER_SECOND: '500',
      RATE_LIMIT_USER_BURST: '2000',
      RATE_LIMIT_USER_PER_SECOND: '500',
    },
  })
  const counter = new RowCounter(stack)
  const report: FuzzReport = {
    runs: 0,
    seed: options.seed,
    durationMs: 0,
    byCode: {},
    byStatus: {},
    byKind: {},
    refusedMutationsChecked: 0,
    mutationsThatChangedRows: 0,
    acceptedMutations: 0,
    startMs: 0,
    rss: { baselineMb: 0, maxMb: 0, samples: 0 },
    violations: [],
  }
  const started = Date.now()
  try {
    await stack.start('item', 'reservation', 'payment', 'projections')
    await stack.start('router')
    const url = stack.url('router')
    const { tokens } = await mintTokens(jwtSecret)

    // A little real data, so generated ids sometimes name something.
    const ids: string[] = []
    for (let i = 0; i < 3; i++) {
      const r = await gql(
        url,
        'mutation ($n: String!) { registerItem(input: { name: $n, price: 1000 }) { id } }',
        { n: `seed ${i}` },
        tokens.owner,
      )
      if (r.data?.registerItem?.id) ids.push(r.data.registerItem.id)
    }
    for (const itemId of ids.slice(0, 2)) {
      const r = await gql(url, 'mutation ($i: ID!) { reserveItem(itemId: $i) { id } }', { i: itemId }, tokens.renter)
      if (r.data?.reserveItem?.id) ids.push(r.data.reserveItem.id)
    }
    let rows = await counter.settled()
    const killAt = Math.floor(options.runs * (options.killPaymentAfter ?? 0.85))
    const baselineAt = Math.max(1, Math.floor(options.runs / 10))
    let paymentDown = false
    const routerPid = stack.running.get('router')?.child.pid
    const schema = apiSchema()
    report.startMs = Date.now() - started

    const violation = (req: FuzzRequest, what: string, body = '') => {
      const request = typeof req.body === 'string' ? req.body.slice(0, 300) : (req.search?.slice(0, 300) ?? '')
      report.violations.push(
        `[${req.kind}] ${what}\n    request: ${req.method} ${request}\n    answer: ${body.slice(0, 400)}`,
      )
    }

    const check = async (req: FuzzRequest) => {
      const n = report.runs++
      if (n === killAt && killAt < options.runs) {
        await stack.stop('payment', 'SIGKILL')
        paymentDown = true
        log(`payment subgraph killed after ${n} requests`)
      }
      if (n % 100 === 0) {
        const rss = rssMb(routerPid)
        report.rss.samples++
        report.rss.maxMb = Math.max(report.rss.maxMb, rss)
        if (n === Math.floor(baselineAt / 100) * 100) report.rss.baselineMb = rss
      }
      if (n % 1000 === 0 && n > 0) log(`${n} requests, ${report.violations.length} violations`)
      bump(report.byKind, req.kind)
      let status: number
      let text: string
      let contentType: string
      try {
        const res = await fetch(`${url}${req.search ?? ''}`, {
          method: req.method,
          headers: req.headers,
          body: req.body,
          signal: AbortSignal.timeout(30_000),
        })
        status = res.status
        contentType = res.headers.get('content-type') ?? ''
        text = await res.text()
      } catch (err) {
        violation(req, `no answer: ${(err as Error).message}`)
        return
      }
      bump(report.byStatus, String(status))
      if (status >= 500 && status !== 503) violation(req, `HTTP ${status}`, text)
      if (STACK_TRACE.test(text)) violation(req, 'a stack trace or internal detail in the answer', text)

      let codes: string[] = []
      const dataFields: unknown[] = []
      if (contentType.startsWith('text/html')) {
        if (!(req.method === 'GET' && status === 200)) violation(req, `HTML answer with ${status}`, text)
        bump(report.byCode, 'HTML landing page')
      } else if (text === '') {
        if (status !== 204) violation(req, `empty answer with ${status}`)
        bump(report.byCode, 'empty (preflight)')
      } else {
        let body: unknown
        try {
          body = JSON.parse(text)
        } catch {
          violation(req, `not JSON (${status}, ${contentType})`, text)
          return
        }
        for (const one of Array.isArray(body) ? body : [body]) {
          const { errors, data } = (one ?? {}) as { errors?: unknown; data?: unknown }
          if (data && typeof data === 'object') dataFields.push(...Object.values(data))
          if (errors === undefined) continue
          if (!Array.isArray(errors)) {
            violation(req, 'errors is not a list', text)
            continue
          }
          for (const e of errors as { extensions?: { code?: unknown; stacktrace?: unknown } }[]) {
            const code = e?.extensions?.code
            if (typeof code !== 'string') violation(req, 'an error without a code', text)
            else if (!DOCUMENTED_CODES.has(code)) violation(req, `undocumented code ${code}`, text)
            if (e?.extensions?.stacktrace) violation(req, 'a stacktrace extension', text)
            if (typeof code === 'string') codes.push(code)
          }
        }
        codes = [...new Set(codes)]
        if (codes.length === 0) bump(report.byCode, status === 200 ? 'OK (no error)' : `no error, HTTP ${status}`)
        for (const code of codes) bump(report.byCode, code)
        if (status === 503 && !(paymentDown && codes.some(c => DOWN_CODES.has(c))))
          violation(req, '503 without a subgraph down', text)
      }

      if (!req.mutation) return
      const accepted = dataFields.some(v => v !== null && v !== undefined)
      // A payment that answered PAYMENT_UNAVAILABLE may have reached payment (the contract lets it).
      if (accepted || codes.includes('PAYMENT_UNAVAILABLE')) {
        report.acceptedMutations++
        rows = await counter.settled()
        return
      }
      const after = await counter.counts()
      report.refusedMutationsChecked++
      const changed = diff(rows, after)
      if (changed.length) {
        report.mutationsThatChangedRows++
        violation(req, `a refused mutation changed rows: ${changed.join(', ')}`, text)
        rows = await counter.settled()
      }
    }

    await fc.assert(
      fc.asyncProperty(fuzzRequests(schema, ids, tokens), async req => {
        await check(req)
      }),
      { numRuns: options.runs, seed: options.seed },
    )
    const final = rssMb(routerPid)
    report.rss.maxMb = Math.max(report.rss.maxMb, final)
    const growth = report.rss.maxMb - report.rss.baselineMb
    if (report.rss.baselineMb > 0 && growth > (options.maxRssGrowthMb ?? 200))
      report.violations.push(
        `router RSS grew by ${growth} MB (from ${report.rss.baselineMb} to ${report.rss.maxMb} MB)`,
      )
    if (report.violations.length && stack.logs('router'))
      log(`router output (tail):\n${stack.logs('router').slice(-3000)}`)
  } finally {
    report.durationMs = Date.now() - started
    await counter.close().catch(() => undefined)
    await stack.dispose()
  }
  return report
}

/** The report as a few readable lines. */
export function describeReport(r: FuzzReport): string {
  const table = (t: Record<string, number>) =>
    Object.entries(t)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `    ${String(n).padStart(6)}  ${k}`)
      .join('\n')
  return [
    `fuzz: ${r.runs} requests, seed ${r.seed}, ${(r.durationMs / 1000).toFixed(1)} s (${(r.startMs / 1000).toFixed(1)} s to start and seed)`,
    `  answers by code (a response with several codes counts once for each):\n${table(r.byCode)}`,
    `  by HTTP status:\n${table(r.byStatus)}`,
    `  by kind of request:\n${table(r.byKind)}`,
    `  refused mutations checked for row changes: ${r.refusedMutationsChecked}, that changed rows: ${r.mutationsThatChangedRows}; accepted (or PAYMENT_UNAVAILABLE) mutations: ${r.acceptedMutations}`,
    `  router RSS: ${r.rss.baselineMb} MB at 10 % of the run, at most ${r.rss.maxMb} MB (${r.rss.samples} samples)`,
    `  violations: ${r.violations.length}${r.violations.length ? `\n${r.violations.slice(0, 30).join('\n')}` : ''}`,
  ].join('\n')
}
