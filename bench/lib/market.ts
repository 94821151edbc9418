// A GDmarket for the bench: the real subgraph processes (harness Stack: own databases, SQLite file,
// stream, free ports) run as in production (NODE_ENV=production, default log level, own secrets),
// and data seeded through the real mutations, so every row went through the same use cases,
// events and projections as in life.
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import {
  encodeCaller,
  INTERNAL_SECRET_HEADER,
  IDENTITY_HEADER,
  type Caller,
  type Role,
} from '@gdmarket/platform/identity'
import { eventually, gql, Stack, token, type ServiceName } from '../../test/harness.js'

export interface Market {
  stack: Stack
  /** Stops every process (gracefully when profiling, so each writes its profile) and drops the data. */
  dispose(): Promise<void>
  jwtSecret: string
  internalSecret: string
  /** A bearer token for the router. */
  tokenFor(userId: string, roles: Role[]): Promise<string>
  /** The headers our router sends subgraphs for this caller (what the peers get statically). */
  subgraphHeaders(caller: Caller): Record<string, string>
}

/**
 * BENCH_CPU_PROF=<dir>: every service process runs with `--cpu-prof`, writing
 * <dir>/<service>/*.cpuprofile when it stops (`npx tsx bench/lib/profile.ts <dir>` summarises them).
 */
const PROFILE_DIR = process.env.BENCH_CPU_PROF

function profiled(services: ServiceName[]): Partial<Record<ServiceName, NodeJS.ProcessEnv>> {
  if (!PROFILE_DIR) return {}
  return Object.fromEntries(
    services.map(s => [
      s,
      { GDMARKET_NODE_FLAGS: `--cpu-prof --cpu-prof-dir=${path.resolve(PROFILE_DIR, s)}`, SHUTDOWN_GRACE_MS: '0' },
    ]),
  )
}

export async function startMarket(services: ServiceName[], routerEnv: NodeJS.ProcessEnv = {}): Promise<Market> {
  const jwtSecret = randomBytes(24).toString('hex')
  const internalSecret = randomBytes(24).toString('hex')
  const profiles = profiled(services)
  // LOG_LEVEL=info is the production default; the harness would otherwise lower it to warn.
  const stack = new Stack({
    ...profiles,
    all: {
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      JWT_SECRET: jwtSecret,
      INTERNAL_SECRET: internalSecret,
      // The load comes from a handful of callers on one address: measure the router, not its rate limit.
      RATE_LIMIT_ENABLED: '0',
    },
    router: { ...profiles.router, ...routerEnv },
  })
  try {
    await stack.start(...services)
  } catch (e) {
    await stack.dispose()
    throw e
  }
  return {
    stack,
    dispose: async () => {
      // A profile is written on a clean exit only.
      if (PROFILE_DIR) await Promise.all([...stack.running.keys()].map(n => stack.stop(n, 'SIGTERM')))
      await stack.dispose()
    },
    jwtSecret,
    internalSecret,
    tokenFor: (userId, roles) => token(userId, nameOf(userId), roles, jwtSecret),
    subgraphHeaders: caller => ({ [INTERNAL_SECRET_HEADER]: internalSecret, [IDENTITY_HEADER]: encodeCaller(caller) }),
  }
}

/** Display names derive from ids, so a token and a static identity header agree. */
export const nameOf = (userId: string): string => `Bench ${userId}`

/** A GraphQL call that must succeed: any error fails the bench with the message. */
export async function must<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  bearer: string,
): Promise<T> {
  const r = await gql<T>(url, query, variables, bearer)
  if (r.errors?.length || !r.data) throw new Error(`${query.slice(0, 60)}…: ${JSON.stringify(r.errors ?? r.status)}`)
  return r.data
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i], i)
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

const log = (line: string) => console.error(`bench: seed: ${line}`)

export interface Seeded {
  owners: string[]
  renters: string[]
  items: string[]
  reservations: string[]
}

/**
 * `owners` × `itemsPerOwner` items; item k is reserved by renter k mod `renters` (so every renter
 * holds itemsPerOwner × owners / renters reservations), confirmed by the saga, and paid. Resolves
 * once the read model shows every item paid for.
 */
export async function seed(
  market: Market,
  url: string,
  { owners = 100, itemsPerOwner = 10, renters = 100 } = {},
): Promise<Seeded> {
  const ownerIds = Array.from({ length: owners }, (_, i) => `owner-${i}`)
  const renterIds = Array.from({ length: renters }, (_, i) => `renter-${i}`)
  const ownerTokens = await Promise.all(ownerIds.map(id => market.tokenFor(id, ['owner'])))
  const renterTokens = await Promise.all(renterIds.map(id => market.tokenFor(id, ['renter'])))
  const slots = Array.from({ length: owners * itemsPerOwner }, (_, k) => k)
  const items = await pool(slots, 16, async k => {
    const d = await must<{ registerItem: { id: string } }>(
      url,
      'mutation($n: String!, $p: Int!) { registerItem(input: { name: $n, price: $p }) { id } }',
      { n: `Thing ${k}`, p: 100 + (k % 50) },
      ownerTokens[Math.floor(k / itemsPerOwner)],
    )
    return d.registerItem.id
  })
  log(`registered ${items.length} items`)
  const reservations = await pool(slots, 16, async k => {
    const d = await must<{ reserveItem: { id: string } }>(
      url,
      'mutation($id: ID!) { reserveItem(itemId: $id) { id } }',
      { id: items[k] },
      renterTokens[k % renters],
    )
    return d.reserveItem.id
  })
  log(`reserved ${reservations.length} items`)
  // The saga confirms each reservation by events; pay each once it is CONFIRMED.
  await pool(slots, 16, async k => {
    const bearer = renterTokens[k % renters]
    await eventually(
      () =>
        must<{ reservation: { status: string } }>(
          url,
          'query($id: ID!) { reservation(id: $id) { status } }',
          { id: reservations[k] },
          bearer,
        ),
      d => d.reservation.status === 'CONFIRMED',
      { timeoutMs: 60_000, intervalMs: 50 },
    )
    // Payment answers "unavailable, try again later" when it misses its 610 ms deadline (a busy
    // machine); approval is idempotent per reservation, so trying again is what a client does.
    await eventually(
      () => gql(url, 'mutation($id: ID!) { payReservation(id: $id) { id } }', { id: reservations[k] }, bearer),
      r => {
        if (r.errors?.length && r.errors[0].extensions?.code !== 'PAYMENT_UNAVAILABLE')
          throw new Error(`payReservation: ${JSON.stringify(r.errors)}`)
        return !r.errors?.length
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    )
  })
  log(`paid ${reservations.length} reservations`)
  // The payment status is shown only to the owner and the customer, and a page holds at most 200:
  // each owner counts its own items.
  const paidOf = async (owner: string, i: number) => {
    const d = await must<{ itemInfos: { paymentStatus: string | null }[] }>(
      url,
      'query($owner: ID!) { itemInfos(ownerId: $owner, first: 200) { paymentStatus } }',
      { owner },
      ownerTokens[i],
    )
    return d.itemInfos.filter(info => info.paymentStatus === 'PAID').length
  }
  await eventually(
    async () => (await pool(ownerIds, 16, paidOf)).reduce((a, b) => a + b, 0),
    paid => paid >= slots.length,
    { timeoutMs: 60_000, intervalMs: 250 },
  )
  return { owners: ownerIds, renters: renterIds, items, reservations }
}
