// Subscriptions through the real router (every process real, loopback only, own databases/stream):
// - fan-out: N subscribers on N sockets, one router, the load generator spread over
//   BENCH_SUB_GENERATORS child processes (each from its own loopback address); delivery time from
//   the ItemInfoChanged message on NATS to each subscriber (p50/p99), the router's memory per
//   subscriber (heap after a full GC, through its inspector, and RSS growth), the router's and the
//   generators' own CPU;
// - replay: REPLAY_CHANGES changes published to the feed, then one subscriber with `after` set to
//   the cursor before them: time until it has caught up (the router reading the feed stream);
// - propagation_feed: ItemInfo changes published to the feed at 200/s; the router's own hop, from
//   the change on NATS to the subscriber's socket (the rest of the pipeline left out);
// - propagation: reserveItem at a steady ~200/s through the whole pipeline; time from each response
//   to the ItemInfo event naming that reservation at a graphql-ws subscriber, and the router's hop.
// Knobs: BENCH_SUB_FANOUT (subscriber counts, "1000,10000,18000"), BENCH_SUB_GENERATORS (4),
// BENCH_SUB_PARTS ("fanout,replay,propagation_feed,propagation"), BENCH_SUB_PROFILE (a directory:
// CPU profiles of the router during the largest fan-out, the replay and propagation_feed).
import { fork, type ChildProcess } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { connect } from 'nats'
import WebSocket from 'ws'
import { createClient } from 'graphql-ws'
import { gql, sleep, Stack, token } from '../test/harness.js'
import { randomUUID } from 'node:crypto'
import { itemInfoChangedSubject, itemInfoFeedStream } from '@gdmarket/contracts/item-info'
import { Inspector } from './lib/inspector.js'
import { cpuMs } from './lib/proc.js'
import type { BenchPart } from './run.js'

const RATE_PER_S = 200
const PROPAGATION_S = 5
const FANOUT_SIZES = (process.env.BENCH_SUB_FANOUT ?? '1000,10000,18000').split(',').map(Number)
const GENERATORS = Number(process.env.BENCH_SUB_GENERATORS ?? 4)
const PARTS = new Set((process.env.BENCH_SUB_PARTS ?? 'fanout,replay,propagation_feed,propagation').split(','))
const PROFILE_DIR = process.env.BENCH_SUB_PROFILE
const FANOUT_EVENTS = 10
const CONNECT_BATCH = 250
const REPLAY_CHANGES = 10_000
const FANOUT_QUERY = 'subscription { itemInfoChanged { itemId version itemName item { name price } } }'

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN
}
const round = (n: number) => Math.round(n * 100) / 100
const rssOf = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024
/** Epoch milliseconds, comparable across the generator processes. */
const now = () => performance.timeOrigin + performance.now()
const load1 = () => round(os.loadavg()[0])

/**
 * Profiles the router while `run` runs, when BENCH_SUB_PROFILE is set: the profile and its top
 * self-time frames go to that directory (and stderr), not into the results.
 */
async function profiled<T>(inspector: Inspector, name: string, run: () => Promise<T>): Promise<T> {
  if (!PROFILE_DIR) return run()
  mkdirSync(PROFILE_DIR, { recursive: true })
  await inspector.startProfile()
  const result = await run()
  const top = await inspector.stopProfile(path.join(PROFILE_DIR, `router-${name}.cpuprofile`))
  writeFileSync(path.join(PROFILE_DIR, `router-${name}.top.txt`), `${top.join('\n')}\n`)
  console.error(`router self time, ${name}:\n  ${top.join('\n  ')}`)
  return result
}

async function propagation(stack: Stack): Promise<Record<string, number>> {
  const url = stack.url('router')
  const owner = await token('bench-owner', 'Owner', ['owner'])
  const renter = await token('bench-renter', 'Renter', ['renter'])
  const total = RATE_PER_S * PROPAGATION_S
  // One fresh item per reservation, so each reservation shows up as a change of its item.
  const items: string[] = []
  for (let i = 0; i < total; i += 20) {
    const batch = await Promise.all(
      Array.from({ length: 20 }, () =>
        gql(url, 'mutation { registerItem(input: { name: "Bench", price: 1 }) { id } }', {}, owner),
      ),
    )
    items.push(...batch.map(r => String(r.data?.registerItem.id)))
  }
  const answered = new Map<string, number>()
  const seen = new Map<string, number>()
  // When the projection published it: separates the router's hop from the event pipeline's lag.
  const published = new Map<string, number>()
  const nc = await connect({ servers: stack.natsUrl })
  nc.subscribe(itemInfoChangedSubject(stack.stream), {
    callback: (_e, m) => {
      const rid = m.json<{ reservationId: string | null }>().reservationId
      if (rid && !published.has(rid)) published.set(rid, performance.now())
    },
  })
  let lastEventAt = performance.now()
  // As the items' owner: reservationId is private to the owner and the customer.
  const client = createClient({
    url: url.replace('http', 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: owner },
  })
  client.subscribe<{ itemInfoChanged: { reservationId: string | null } }>(
    { query: 'subscription { itemInfoChanged { reservationId version item { name } } }' },
    {
      next: ({ data }) => {
        lastEventAt = performance.now()
        const rid = data?.itemInfoChanged.reservationId
        if (rid && !seen.has(rid)) seen.set(rid, performance.now())
      },
      error: e => console.error('propagation subscriber failed', e),
      complete: () => undefined,
    },
  )
  // Beside it, ItemInfo's own fields only: the router's hop without the item subgraph's answer.
  const seenOwn = new Map<string, number>()
  const own = await ownerSubscriber(url, owner, 'subscription { itemInfoChanged { reservationId version } }', rid => {
    if (!seenOwn.has(rid)) seenOwn.set(rid, performance.now())
  })
  // Measure on a quiet pipeline: wait until the registrations' own ItemInfo events have passed.
  while (performance.now() - lastEventAt < 2000) await sleep(200)
  const loadAtStart = load1()
  const started = performance.now()
  const inFlight: Promise<void>[] = []
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / RATE_PER_S
    if (due > performance.now()) await sleep(due - performance.now())
    inFlight.push(
      gql(url, 'mutation($id: ID!) { reserveItem(itemId: $id) { id } }', { id: items[i] }, renter).then(
        r => void answered.set(String(r.data?.reserveItem.id), performance.now()),
      ),
    )
  }
  await Promise.all(inFlight)
  const achieved = total / ((performance.now() - started) / 1000)
  const deadline = Date.now() + 30_000
  while (seen.size < answered.size && Date.now() < deadline) await sleep(100)
  await client.dispose()
  own.terminate()
  await nc.close()
  const hops = [...seen].filter(([rid]) => published.has(rid)).map(([rid, at]) => at - published.get(rid)!)
  const ownHops = [...seenOwn].filter(([rid]) => published.has(rid)).map(([rid, at]) => at - published.get(rid)!)
  // An event can beat the HTTP response home; that counts as 0, not negative.
  const latencies = [...answered].filter(([rid]) => seen.has(rid)).map(([rid, at]) => Math.max(0, seen.get(rid)! - at))
  return {
    p50_ms: round(percentile(latencies, 50)),
    p99_ms: round(percentile(latencies, 99)),
    router_hop_p50_ms: round(percentile(hops, 50)),
    router_hop_p99_ms: round(percentile(hops, 99)),
    own_fields_hop_p50_ms: round(percentile(ownHops, 50)),
    own_fields_hop_p99_ms: round(percentile(ownHops, 99)),
    mutations: total,
    mutations_per_s: round(achieved),
    delivered: latencies.length,
    loadavg_1m: loadAtStart,
  }
}

/** A bare graphql-transport-ws subscriber (the library client is heavier than 10,000 sockets need). */
function subscriber(url: string, query: string, onNext: (payload: string) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'graphql-transport-ws')
    ws.on('error', reject)
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init' })))
    ws.on('message', data => {
      const text = String(data)
      if (text.startsWith('{"type":"connection_ack"')) {
        ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }))
        resolve(ws)
      } else if (text.includes('"type":"next"')) onNext(text)
    })
  })
}

interface GeneratorReport {
  arrivals: Record<string, number[]>
  cpuMs: number
  wallMs: number
  errors: number
}

/** One generator child process (bench/lib/subscriber-proc.ts), spoken to over IPC. */
class Generator {
  private readonly child: ChildProcess
  private readonly replies: ((message: { type: string } & Record<string, unknown>) => void)[] = []
  readonly ready: Promise<unknown>

  constructor() {
    this.child = fork(path.join(import.meta.dirname, 'lib', 'subscriber-proc.ts'), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    this.child.on('message', message => this.replies.shift()?.(message as { type: string }))
    this.ready = this.reply()
  }

  private reply(): Promise<{ type: string } & Record<string, unknown>> {
    return new Promise(resolve => this.replies.push(resolve))
  }

  async ask(message: Record<string, unknown>): Promise<{ type: string } & Record<string, unknown>> {
    const reply = this.reply()
    this.child.send(message)
    const answer = await reply
    if (answer.type === 'failed') throw new Error(`generator: ${String(answer.error)}`)
    return answer
  }

  close(): void {
    if (this.child.connected) this.child.send({ type: 'close' })
  }
}

async function fanout(
  stack: Stack,
  n: number,
  inspector: Inspector,
  profile: boolean,
): Promise<Record<string, unknown>> {
  const url = stack.url('router')
  const owner = await token('bench-owner', 'Owner', ['owner'])
  const pid = stack.running.get('router')!.child.pid!
  const nc = await connect({ servers: stack.natsUrl })
  const publishedAt = new Map<string, number>()
  nc.subscribe(itemInfoChangedSubject(stack.stream), {
    callback: (_e, m) => {
      const { itemId, version } = m.json<{ itemId: string; version: number }>()
      publishedAt.set(`${itemId}@${version}`, now())
    },
  })
  const generators = Array.from({ length: Math.max(1, Math.min(GENERATORS, n)) }, () => new Generator())
  await Promise.all(generators.map(g => g.ready))
  await sleep(1000)
  const loadAtStart = load1()
  const heapBefore = await inspector.heapAfterGc()
  const rssBefore = rssOf(pid)
  const connectStarted = performance.now()
  const share = Math.ceil(n / generators.length)
  await Promise.all(
    generators.map((g, i) =>
      g.ask({
        type: 'open',
        url: url.replace('http', 'ws'),
        query: FANOUT_QUERY,
        count: Math.min(share, n - i * share),
        localAddress: `127.0.0.${2 + i}`,
        batch: CONNECT_BATCH,
      }),
    ),
  )
  const connectMs = performance.now() - connectStarted
  await sleep(1000)
  const heapAfter = await inspector.heapAfterGc()
  const rssAfter = rssOf(pid)
  await Promise.all(generators.map(g => g.ask({ type: 'mark' })))
  const routerCpuBefore = cpuMs(pid)
  const measure = async () => {
    for (let e = 0; e < FANOUT_EVENTS; e++) {
      await gql(url, 'mutation { registerItem(input: { name: "Fanout", price: 2 }) { id } }', {}, owner)
      await sleep(n >= 10_000 ? 1500 : 500)
    }
    await sleep(2000)
  }
  if (profile) await profiled(inspector, `fanout-${n}`, measure)
  else await measure()
  const routerCpu = cpuMs(pid) - routerCpuBefore
  const reports = (await Promise.all(generators.map(g => g.ask({ type: 'report' })))) as unknown as GeneratorReport[]
  for (const g of generators) g.close()
  await nc.close()
  const latencies: number[] = []
  for (const r of reports)
    for (const [key, times] of Object.entries(r.arrivals)) {
      const at = publishedAt.get(key)
      if (at !== undefined) for (const t of times) latencies.push(t - at)
    }
  const generatorCpu = reports.reduce((sum, r) => sum + r.cpuMs, 0)
  const wall = Math.max(...reports.map(r => r.wallMs))
  await sleep(1000)
  return {
    subscribers: n,
    p50_ms: round(percentile(latencies, 50)),
    p99_ms: round(percentile(latencies, 99)),
    max_ms: round(percentile(latencies, 100)),
    heap_bytes_per_subscriber: Math.round((heapAfter - heapBefore) / n),
    rss_bytes_per_subscriber: Math.round((rssAfter - rssBefore) / n),
    delivered: latencies.length,
    expected: n * FANOUT_EVENTS,
    connect_ms: Math.round(connectMs),
    router_cpu_ms_per_change: round(routerCpu / FANOUT_EVENTS),
    generator_processes: generators.length,
    generator_cpu_cores: round(generatorCpu / wall),
    generator_cpu_us_per_message: round((generatorCpu * 1000) / Math.max(1, latencies.length)),
    connect_errors: reports.reduce((sum, r) => sum + r.errors, 0),
    loadavg_1m: loadAtStart,
  }
}

async function replay(stack: Stack, inspector: Inspector): Promise<Record<string, unknown>> {
  const nc = await connect({ servers: stack.natsUrl })
  const js = nc.jetstream()
  const jsm = await nc.jetstreamManager()
  const feed = itemInfoFeedStream(stack.stream)
  const from = (await jsm.streams.info(feed)).state.last_seq
  const now = new Date().toISOString()
  for (let i = 0; i < REPLAY_CHANGES; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, REPLAY_CHANGES - i) }, (_, k) => {
        const itemId = randomUUID()
        const payload = {
          itemId,
          version: 1,
          itemName: `Replayed ${i + k}`,
          itemPrice: 1,
          ownerId: 'bench-owner',
          itemStatus: 'RENTABLE',
          rentalStatus: 'NOT_RENTING',
          deleted: false,
          item: { id: itemId },
          updatedAt: now,
          cursor: '0',
        }
        return js.publish(itemInfoChangedSubject(stack.stream, itemId), JSON.stringify(payload))
      }),
    )
  }
  await nc.close()
  await sleep(1000)
  const loadAtStart = load1()
  return profiled(inspector, 'replay', async () => {
    let received = 0
    let done!: () => void
    const caughtUp = new Promise<void>(resolve => (done = resolve))
    const started = performance.now()
    const ws = await subscriber(
      stack.url('router').replace('http', 'ws'),
      `subscription { itemInfoChanged(after: "${from}") { itemId version cursor } }`,
      () => {
        if (++received === REPLAY_CHANGES) done()
      },
    )
    await Promise.race([caughtUp, sleep(120_000)])
    const ms = performance.now() - started
    ws.terminate()
    return {
      changes: REPLAY_CHANGES,
      delivered: received,
      catch_up_ms: Math.round(ms),
      changes_per_s: Math.round(received / (ms / 1000)),
      loadavg_1m: loadAtStart,
    }
  })
}

/**
 * ItemInfo changes of real items published straight to the feed at RATE_PER_S: the router's own
 * hop (feed message on NATS → the subscriber's socket), with the same selection and identity as
 * `propagation` (the owner: private fields shown; `item { name }` read from the item subgraph).
 */
async function propagationFeed(stack: Stack, inspector: Inspector): Promise<Record<string, unknown>> {
  const url = stack.url('router')
  const owner = await token('bench-owner', 'Owner', ['owner'])
  const items: string[] = []
  for (let i = 0; i < 20; i++) {
    const r = await gql(url, 'mutation { registerItem(input: { name: "Feed", price: 3 }) { id } }', {}, owner)
    items.push(String(r.data?.registerItem.id))
  }
  const nc = await connect({ servers: stack.natsUrl })
  const js = nc.jetstream()
  const publishedAt = new Map<string, number>()
  nc.subscribe(itemInfoChangedSubject(stack.stream), {
    callback: (_e, m) => {
      const rid = m.json<{ reservationId: string | null }>().reservationId
      if (rid && !publishedAt.has(rid)) publishedAt.set(rid, now())
    },
  })
  const seen = new Map<string, number>()
  // The owner (token in connection_init) sees the private reservationId.
  const authed = await ownerSubscriber(
    url,
    owner,
    'subscription { itemInfoChanged { reservationId version item { name } } }',
    (rid, at) => {
      if (!seen.has(rid)) seen.set(rid, at)
    },
  )
  // Beside it, ItemInfo's own fields only: the hop without the item subgraph's answer in it.
  const seenOwn = new Map<string, number>()
  const own = await ownerSubscriber(
    url,
    owner,
    'subscription { itemInfoChanged { reservationId version } }',
    (rid, at) => {
      if (!seenOwn.has(rid)) seenOwn.set(rid, at)
    },
  )
  await sleep(2000)
  const total = RATE_PER_S * PROPAGATION_S
  const loadAtStart = load1()
  const result = await profiled(inspector, 'propagation-feed', async () => {
    const started = performance.now()
    const sent: Promise<unknown>[] = []
    const at = new Date().toISOString()
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / RATE_PER_S
      if (due > performance.now()) await sleep(due - performance.now())
      const itemId = items[i % items.length]
      const payload = {
        itemId,
        version: 1_000 + i,
        itemName: 'Feed',
        itemPrice: 3,
        ownerId: 'bench-owner',
        itemStatus: 'RESERVED',
        rentalStatus: 'NOT_RENTING',
        deleted: false,
        item: { id: itemId },
        reservationId: `feed-${i}`,
        customerId: 'bench-renter',
        customerName: 'Renter',
        reservationStatus: 'CONFIRMED',
        paymentStatus: 'PENDING',
        updatedAt: at,
        cursor: '0',
      }
      sent.push(js.publish(itemInfoChangedSubject(stack.stream, itemId), JSON.stringify(payload)))
    }
    await Promise.all(sent)
    const achieved = total / ((performance.now() - started) / 1000)
    const deadline = Date.now() + 20_000
    while ((seen.size < total || seenOwn.size < total) && Date.now() < deadline) await sleep(100)
    return { achieved }
  })
  authed.terminate()
  own.terminate()
  await nc.close()
  const hopsOf = (arrivals: Map<string, number>) =>
    [...arrivals].filter(([rid]) => publishedAt.has(rid)).map(([rid, t]) => t - publishedAt.get(rid)!)
  const hops = hopsOf(seen)
  const ownHops = hopsOf(seenOwn)
  return {
    router_hop_p50_ms: round(percentile(hops, 50)),
    router_hop_p99_ms: round(percentile(hops, 99)),
    own_fields_hop_p50_ms: round(percentile(ownHops, 50)),
    own_fields_hop_p99_ms: round(percentile(ownHops, 99)),
    changes: total,
    changes_per_s: round(result.achieved),
    delivered: hops.length,
    loadavg_1m: loadAtStart,
  }
}

/** A bare subscriber authenticated as `owner` (private fields shown), calling back with each reservationId. */
function ownerSubscriber(
  url: string,
  owner: string,
  query: string,
  onChange: (rid: string, at: number) => void,
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace('http', 'ws'), 'graphql-transport-ws')
    ws.on('error', reject)
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: owner } })))
    ws.on('message', data => {
      const at = now()
      const text = String(data)
      if (text.startsWith('{"type":"connection_ack"')) {
        ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }))
        resolve(ws)
        return
      }
      const message = JSON.parse(text) as {
        type: string
        payload?: { data?: { itemInfoChanged?: { reservationId: string | null } } }
      }
      const rid = message.type === 'next' ? message.payload?.data?.itemInfoChanged?.reservationId : null
      if (rid) onChange(rid, at)
    })
  })
}

/** One measurement failing (a loaded machine) still leaves the others' numbers, with the reason. */
async function attempt(run: () => Promise<Record<string, unknown>>): Promise<Record<string, unknown>> {
  try {
    return await run()
  } catch (err) {
    return {
      error: err instanceof Error ? `${err.message} ${String((err as { cause?: unknown }).cause ?? '')}` : String(err),
    }
  }
}

export const subscriptionsBench: BenchPart = {
  name: 'subscriptions',
  run: async () => {
    const stack = new Stack({
      all: { LOG_LEVEL: 'error' },
      // The generators' few addresses hold every socket here: the caps are lifted for them. The
      // inspector lets the bench read the router's heap after a GC and profile it.
      router: {
        SUBSCRIPTION_BUFFER_SIZE: '1000',
        SUBSCRIPTION_MAX_CONNECTIONS: '20000',
        SUBSCRIPTION_MAX_CONNECTIONS_PER_CALLER: '20000',
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --inspect=127.0.0.1:0`.trim(),
      },
    })
    const results: Record<string, unknown> = {}
    try {
      await stack.start('item', 'reservation', 'payment', 'projections', 'router')
      const inspector = await Inspector.attach(stack.logs('router'))
      // Fan-out first, while nothing else moves; propagation loads the whole pipeline.
      if (PARTS.has('fanout')) {
        const largest = Math.max(...FANOUT_SIZES)
        for (const n of FANOUT_SIZES)
          results[n === 10_000 ? 'fanout' : `fanout_${n}`] = await attempt(() =>
            fanout(stack, n, inspector, n === largest),
          )
      }
      if (PARTS.has('replay')) results.replay = await attempt(() => replay(stack, inspector))
      if (PARTS.has('propagation_feed'))
        results.propagation_feed = await attempt(() => propagationFeed(stack, inspector))
      if (PARTS.has('propagation')) results.propagation = await attempt(() => propagation(stack))
      inspector.close()
      return results
    } finally {
      await stack.dispose()
    }
  },
}
