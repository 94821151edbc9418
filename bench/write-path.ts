// The write path through our router, in three parts on one GDmarket:
// - loop: WORKERS renters each run the whole scenario in a loop for BENCH_WRITE_S seconds:
//   reserveItem → (saga, by events) CONFIRMED → payReservation → lendItem → returnItem; a returned
//   item is RENTABLE again, so each worker reuses its own item. Whole scenarios per second, reserve →
//   CONFIRMED as a client sees it (polled every POLL_MS through the router, so ±POLL_MS), and every
//   retry by its reason: an event that had not arrived yet (CONFLICT) or payment past its deadline;
// - idle: IDLE_RESERVATIONS reservations one at a time, reserve → CONFIRMED;
// - load: reserveItem sent open-loop (on schedule, not waiting for answers) at each rate of RATES
//   for BENCH_WRITE_S seconds (the goal's 200/s for BENCH_WRITE_GOAL_S, 60), one fresh item per
//   reservation: sustained throughput, reserveItem answered → the subscriber's ItemInfo event naming
//   the reservation, and reserve → CONFIRMED.
// CONFIRMED outside the loop is the moment the ReservationConfirmed event is on the bus (committed
// before it is published): no polling load, and exact. CPU per reservation is every GDmarket
// process, the PostgreSQL backends of its databases (with PostgreSQL's shared writers) and
// nats-server, from /proc over each part, divided by the reservations it completed.
import { randomUUID } from 'node:crypto'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createClient } from 'graphql-ws'
import { connect } from 'nats'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import WebSocket from 'ws'
import { gql, sleep, type Stack } from '../test/harness.js'
import { percentile, round } from './lib/load.js'
import { must, pool, startMarket } from './lib/market.js'
import { CpuMeter, systemProcesses } from './lib/proc.js'
import type { BenchPart } from './run.js'

const WORKERS = 16
const DURATION_S = Number(process.env.BENCH_WRITE_S ?? 20)
/** The rate the write path's goal is set at (200 reservations/s for 60 s), and how long it is offered. */
const GOAL_RATE = 200
const GOAL_S = Number(process.env.BENCH_WRITE_GOAL_S ?? 60)
/** How long each offered rate runs: the goal's rate for GOAL_S, the others for DURATION_S. */
const stepSeconds = (rate: number) => (rate === GOAL_RATE ? GOAL_S : DURATION_S)
const POLL_MS = 10
/** BENCH_WRITE_RATES=200 (or 100,200): only those offered rates, to measure one lever at one load. */
const RATES = (process.env.BENCH_WRITE_RATES ?? '50,100,200,400').split(',').map(Number)
/** BENCH_WRITE_PARTS=load (or loop,idle): only those parts of the write bench. */
const PARTS = new Set((process.env.BENCH_WRITE_PARTS ?? 'loop,idle,load').split(','))
const IDLE_RESERVATIONS = 50
/** How long after the last send a load step waits for its stragglers. */
const DRAIN_S = 30
const OWNER = 'write-owner'

const RESERVE = 'mutation($id: ID!) { reserveItem(itemId: $id) { id } }'

/** Polls `fn` every POLL_MS until it returns a value; throws after `timeoutMs`. */
async function until<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await sleep(POLL_MS)
  }
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return { p50_ms: round(percentile(s, 50)), p99_ms: round(percentile(s, 99)) }
}

/** `n` RENTABLE items of OWNER straight into the item database (COPY), for reservations on fresh items. */
async function seedItems(databaseUrl: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => randomUUID())
  const client = new pg.Client(databaseUrl)
  await client.connect()
  try {
    const now = new Date().toISOString()
    const copy = client.query(copyFrom('COPY "Item" ("id", "name", "price", "ownerId", "updatedAt") FROM STDIN'))
    await pipeline(
      Readable.from(ids.map((id, k) => `${id}\tOffered ${k}\t${100 + (k % 50)}\t${OWNER}\t${now}\n`)),
      copy,
    )
    await client.query('ANALYZE "Item"')
  } finally {
    await client.end()
  }
  return ids
}

/** What the bench hears besides the router's answers: the bus (CONFIRMED) and one subscriber through the router. */
interface Observer {
  confirmed: Map<string, number>
  rejected: Set<string>
  seen: Map<string, number>
  /** When the subscriber last heard anything. */
  lastEventAt(): number
  close(): Promise<void>
}

async function observe(stack: Stack, ownerToken: string): Promise<Observer> {
  const confirmed = new Map<string, number>()
  const rejected = new Set<string>()
  const seen = new Map<string, number>()
  let last = performance.now()
  const prefix = stack.stream.toLowerCase()
  const nc = await connect({ servers: stack.natsUrl })
  nc.subscribe(`${prefix}.reservation.ReservationConfirmed`, {
    callback: (_e, m) => void confirmed.set(m.json<{ aggregateId: string }>().aggregateId, performance.now()),
  })
  nc.subscribe(`${prefix}.reservation.ReservationRejected`, {
    callback: (_e, m) => void rejected.add(m.json<{ aggregateId: string }>().aggregateId),
  })
  // As the items' owner: reservationId is private to the owner and the customer.
  const client = createClient({
    url: stack.url('router').replace('http', 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: ownerToken },
  })
  client.subscribe<{ itemInfoChanged: { reservationId: string | null } }>(
    { query: 'subscription { itemInfoChanged { reservationId version } }' },
    {
      next: ({ data }) => {
        last = performance.now()
        const rid = data?.itemInfoChanged.reservationId
        if (rid && !seen.has(rid)) seen.set(rid, last)
      },
      error: e => console.error('write subscriber failed', e),
      complete: () => undefined,
    },
  )
  return {
    confirmed,
    rejected,
    seen,
    lastEventAt: () => last,
    close: async () => {
      await client.dispose()
      await nc.close()
    },
  }
}

/** Waits until the pipeline has been quiet (nothing reached the subscriber) for `quietMs`. */
async function settle(o: Observer, quietMs = 1000, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (performance.now() - o.lastEventAt() < quietMs && performance.now() < deadline) await sleep(100)
}

type CpuResult = ReturnType<CpuMeter['stop']>
const cpuPer = (cpu: CpuResult, n: number) => ({
  cpu_ms_per_reservation: round(cpu.total / Math.max(1, n)),
  cpu_cores: round(cpu.total / cpu.elapsedMs),
  cpu_ms_by_process: Object.fromEntries(
    Object.entries(cpu.byGroup)
      .sort()
      .map(([g, ms]) => [g, round(ms / Math.max(1, n))]),
  ),
})

async function loop(url: string, owner: string, renters: string[], meter: CpuMeter) {
  const items = await pool(
    renters,
    WORKERS,
    async (_r, w) =>
      (
        await must<{ registerItem: { id: string } }>(
          url,
          'mutation($n: String!) { registerItem(input: { name: $n, price: 100 }) { id } }',
          { n: `Write ${w}` },
          owner,
        )
      ).registerItem.id,
  )
  const confirmedMs: number[] = []
  let scenarios = 0
  let polls = 0
  const retries = { payment_unavailable: 0, not_paid: 0, does_not_hold: 0 }
  const errors: string[] = []
  const loadavg = os.loadavg()[0]
  meter.start()
  const stopAt = performance.now() + DURATION_S * 1000
  const started = performance.now()
  await pool(renters, WORKERS, async (renter, w) => {
    const itemId = items[w]
    while (performance.now() < stopAt && errors.length === 0) {
      try {
        const t0 = performance.now()
        const { reserveItem } = await must<{ reserveItem: { id: string } }>(url, RESERVE, { id: itemId }, renter)
        const id = reserveItem.id
        await until(async () => {
          polls++
          const d = await must<{ reservation: { status: string } }>(
            url,
            'query($id: ID!) { reservation(id: $id) { status } }',
            { id },
            renter,
          )
          if (d.reservation.status === 'REJECTED' || d.reservation.status === 'CANCELLED')
            throw new Error(`reservation ${d.reservation.status}`)
          return d.reservation.status === 'CONFIRMED' ? true : undefined
        }, 'CONFIRMED')
        confirmedMs.push(performance.now() - t0)
        // Payment may answer "unavailable, try again later" past its deadline.
        await until(async () => {
          const r = await gql(url, 'mutation($id: ID!) { payReservation(id: $id) { id } }', { id }, renter)
          if (!r.errors?.length) return true
          if (r.errors[0].extensions?.code !== 'PAYMENT_UNAVAILABLE')
            throw new Error(`payReservation: ${r.errors[0].message}`)
          retries.payment_unavailable++
          return undefined
        }, 'paid')
        // A CONFLICT here means an event had not arrived yet where lendItem asked: counted, retried.
        await until(async () => {
          const r = await gql(url, 'mutation($id: ID!) { lendItem(reservationId: $id) { id } }', { id }, owner)
          if (!r.errors?.length) return true
          const message = r.errors[0].message
          if (/not paid/.test(message)) retries.not_paid++
          else if (/does not hold/.test(message)) retries.does_not_hold++
          else throw new Error(`lendItem: ${message}`)
          return undefined
        }, 'lent')
        await must(url, 'mutation($id: ID!) { returnItem(itemId: $id) { id } }', { id: itemId }, owner)
        scenarios++
      } catch (e) {
        errors.push(e instanceof Error ? e.message : String(e))
      }
    }
  })
  const cpu = meter.stop()
  const elapsedS = (performance.now() - started) / 1000
  if (errors.length) throw new Error(`write path failed: ${errors[0]}`)
  const eventLag = retries.not_paid + retries.does_not_hold
  return {
    scenarios_per_s: round(scenarios / elapsedS),
    write_path: {
      workers: WORKERS,
      duration_s: round(elapsedS, 1),
      scenarios,
      retries: eventLag + retries.payment_unavailable,
      event_lag_retries: eventLag,
      retries_by_reason: retries,
      poll_ms: POLL_MS,
      loadavg_1m: round(loadavg),
      cpu_ms_per_scenario: round(cpu.total / Math.max(1, scenarios)),
      cpu_cores: round(cpu.total / cpu.elapsedMs),
      cpu_ms_by_process: cpuPer(cpu, scenarios).cpu_ms_by_process,
      /** Status reads until CONFIRMED, per scenario: what a slow confirmation costs a polling client. */
      polls_per_scenario: round(polls / Math.max(1, scenarios)),
    },
    reserve_confirmed: stats(confirmedMs),
  }
}

/** One reservation at a time on a quiet system: reserve → CONFIRMED (on the bus) and → the subscriber. */
async function idle(url: string, renter: string, items: string[], o: Observer) {
  await settle(o)
  const loadavg = os.loadavg()[0]
  const confirmed: number[] = []
  const answered: number[] = []
  const subscriber: number[] = []
  // One that does not get through in 10 s is counted, not waited for.
  const missing = { confirmed: 0, subscriber: 0 }
  for (const itemId of items) {
    const t0 = performance.now()
    const id = (await must<{ reserveItem: { id: string } }>(url, RESERVE, { id: itemId }, renter)).reserveItem.id
    const t1 = performance.now()
    const done = await until(
      async () => (o.seen.has(id) && o.confirmed.has(id) ? true : undefined),
      'idle CONFIRMED',
      10_000,
    ).catch(() => false)
    answered.push(t1 - t0)
    if (o.confirmed.has(id)) confirmed.push(o.confirmed.get(id)! - t0)
    else missing.confirmed++
    if (o.seen.has(id)) subscriber.push(Math.max(0, o.seen.get(id)! - t1))
    else missing.subscriber++
    if (done) await sleep(50)
  }
  const c = stats(confirmed)
  return {
    reservations: items.length,
    loadavg_1m: round(loadavg),
    reserve_confirmed_p50_ms: c.p50_ms,
    reserve_confirmed_p99_ms: c.p99_ms,
    reserve_answered_p50_ms: stats(answered).p50_ms,
    answered_to_event_p50_ms: stats(subscriber).p50_ms,
    missing_after_10_s: missing,
  }
}

/** reserveItem at `rate`/s, open loop, for stepSeconds(rate); each reservation on its own fresh item. */
async function offered(url: string, renter: string, items: string[], rate: number, o: Observer, meter: CpuMeter) {
  await settle(o)
  const loadavg = os.loadavg()[0]
  const total = items.length
  const sentAt = new Map<string, number>()
  const answeredAt = new Map<string, number>()
  let failed = 0
  let firstError = ''
  meter.start()
  const started = performance.now()
  const inFlight: Promise<void>[] = []
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate
    const now = performance.now()
    if (due > now) await sleep(due - now)
    const t0 = performance.now()
    inFlight.push(
      gql<{ reserveItem: { id: string } }>(url, RESERVE, { id: items[i] }, renter).then(
        r => {
          const id = r.data?.reserveItem?.id
          if (!id) {
            failed++
            firstError ||= JSON.stringify(r.errors ?? r.status)
            return
          }
          sentAt.set(id, t0)
          answeredAt.set(id, performance.now())
        },
        e => {
          failed++
          firstError ||= String(e)
        },
      ),
    )
  }
  const sendS = (performance.now() - started) / 1000
  await Promise.all(inFlight)
  const deadline = performance.now() + DRAIN_S * 1000
  const done = () => [...answeredAt.keys()].every(id => o.seen.has(id) || o.rejected.has(id))
  while (!done() && performance.now() < deadline) await sleep(50)
  const cpu = meter.stop()
  const ids = [...answeredAt.keys()]
  const seenIds = ids.filter(id => o.seen.has(id))
  const lastSeen = Math.max(...seenIds.map(id => o.seen.get(id)!), started)
  const lastAnswer = Math.max(...ids.map(id => answeredAt.get(id)!), started)
  const confirmedIds = ids.filter(id => o.confirmed.has(id))
  return {
    offered_per_s: rate,
    loadavg_1m: round(loadavg),
    sent: total,
    send_s: round(sendS, 1),
    answered_per_s: round(ids.length / ((lastAnswer - started) / 1000)),
    sustained_per_s: round(seenIds.length / ((lastSeen - started) / 1000)),
    delivered: seenIds.length,
    rejected: ids.filter(id => o.rejected.has(id)).length,
    failed,
    ...(firstError ? { first_error: firstError.slice(0, 200) } : {}),
    answered_to_event: stats(seenIds.map(id => Math.max(0, o.seen.get(id)! - answeredAt.get(id)!))),
    reserve_confirmed: stats(confirmedIds.map(id => o.confirmed.get(id)! - sentAt.get(id)!)),
    reserve_answered: stats(ids.map(id => answeredAt.get(id)! - sentAt.get(id)!)),
    ...cpuPer(cpu, seenIds.length),
  }
}

/** What each consumer still has to do at the end (0 and 0: it kept up). */
async function backlog(stack: Stack): Promise<Record<string, { pending: number; ack_pending: number }>> {
  const nc = await connect({ servers: stack.natsUrl })
  try {
    const jsm = await nc.jetstreamManager()
    const out: Record<string, { pending: number; ack_pending: number }> = {}
    for (const name of ['item', 'reservation', 'projections']) {
      const info = await jsm.consumers.info(stack.stream, name)
      out[name] = { pending: info.num_pending, ack_pending: info.num_ack_pending }
    }
    return out
  } finally {
    await nc.close()
  }
}

/** The looping renters before this work, the baseline of their goal (twice as many scenarios/s). */
export const LOOP_BEFORE = {
  scenarios_per_s: 10.67,
  measured: 'main at b967538, npm run bench -- write, 2026-12-07 03:40',
}

type Numbers = Record<string, unknown>
const num = (o: unknown, ...path: string[]): number =>
  Number(path.reduce<unknown>((v, k) => (v as Numbers | undefined)?.[k], o) ?? Number.NaN)

/**
 * Where the write path stands against its goals, each measured in this run: CPU per reservation and
 * keeping up at 200/s, the subscriber's latency there, the idle reservation, and the looping renters
 * against LOOP_BEFORE.
 */
export function writeGoals(r: Numbers): Record<string, { goal: string; measured: number | string; met: boolean }> {
  const at200 = (r.write_load as Numbers | undefined)?.at_200
  const goals: Record<string, { goal: string; measured: number | string; met: boolean }> = {}
  const goal = (name: string, text: string, measured: number, met: boolean) => {
    if (Number.isFinite(measured)) goals[name] = { goal: text, measured: round(measured), met }
  }
  goal(
    'cpu_ms_per_reservation_at_200',
    '≤ 6 ms',
    num(at200, 'cpu_ms_per_reservation'),
    num(at200, 'cpu_ms_per_reservation') <= 6,
  )
  goal('sustained_per_s_at_200', '≥ 190/s', num(at200, 'sustained_per_s'), num(at200, 'sustained_per_s') >= 190)
  goal(
    'answered_to_event_p50_ms_at_200',
    '≤ 50 ms',
    num(at200, 'answered_to_event', 'p50_ms'),
    num(at200, 'answered_to_event', 'p50_ms') <= 50,
  )
  goal(
    'answered_to_event_p99_ms_at_200',
    '≤ 250 ms',
    num(at200, 'answered_to_event', 'p99_ms'),
    num(at200, 'answered_to_event', 'p99_ms') <= 250,
  )
  goal(
    'idle_reserve_confirmed_p50_ms',
    '≤ 10 ms',
    num(r, 'write_idle', 'reserve_confirmed_p50_ms'),
    num(r, 'write_idle', 'reserve_confirmed_p50_ms') <= 10,
  )
  const loops = num(r, 'scenarios_per_s')
  goal(
    'looping_renters_vs_before',
    `≥ 2 × ${LOOP_BEFORE.scenarios_per_s}/s`,
    loops / LOOP_BEFORE.scenarios_per_s,
    loops >= 2 * LOOP_BEFORE.scenarios_per_s,
  )
  return goals
}

export const writePathBench: BenchPart = {
  name: 'write',
  run: async () => {
    const market = await startMarket(['item', 'reservation', 'payment', 'projections', 'router'])
    const stack = market.stack
    try {
      const url = stack.url('router')
      const owner = await market.tokenFor(OWNER, ['owner'])
      const renters = await Promise.all(
        Array.from({ length: WORKERS }, (_, w) => market.tokenFor(`write-renter-${w}`, ['renter'])),
      )
      const pids = () =>
        Object.fromEntries([...stack.running].map(([name, svc]) => [name, svc.child.pid ?? 0])) as Record<
          string,
          number
        >
      const meter = new CpuMeter(() => systemProcesses(pids(), `gdm_${stack.id}_`))
      const fresh = await seedItems(
        stack.databaseUrl('item'),
        IDLE_RESERVATIONS + RATES.reduce((a, r) => a + r * stepSeconds(r), 0),
      )
      const o = await observe(stack, owner)
      try {
        const looped = PARTS.has('loop') ? await loop(url, owner, renters, meter) : {}
        const idled = PARTS.has('idle') ? await idle(url, renters[0], fresh.splice(0, IDLE_RESERVATIONS), o) : undefined
        const load: Record<string, unknown> = {}
        for (const rate of PARTS.has('load') ? RATES : []) {
          console.error(`bench: write: ${rate}/s offered…`)
          load[`at_${rate}`] = await offered(url, renters[1], fresh.splice(0, rate * stepSeconds(rate)), rate, o, meter)
        }
        const result = {
          ...looped,
          ...(idled ? { write_idle: idled } : {}),
          ...(PARTS.has('load') ? { write_load: load } : {}),
          write_consumers: await backlog(stack),
        }
        return { ...result, write_goals: writeGoals(result) }
      } finally {
        await o.close()
      }
    } finally {
      await market.dispose()
    }
  },
}
