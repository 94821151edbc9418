// Subscriptions through the real router (every process real, loopback only, own databases/stream):
// - propagation: reserveItem at a steady ~200/s; time from each response to the ItemInfo event
//   naming that reservation at a graphql-ws subscriber (p50/p99);
// - fan-out: N subscribers on N sockets, one router; delivery time from the ItemInfoChanged
//   message on NATS to each subscriber (p99), and the router's RSS growth per subscriber;
// - replay: REPLAY_CHANGES changes published to the feed, then one subscriber with `after` set to
//   the cursor before them: time until it has caught up (the router reading the feed stream).
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { connect } from 'nats'
import WebSocket from 'ws'
import { createClient } from 'graphql-ws'
import { gql, sleep, Stack, token } from '../test/harness.js'
import { randomUUID } from 'node:crypto'
import { itemInfoChangedSubject, itemInfoFeedStream } from '@gdmarket/contracts/item-info'
import type { BenchPart } from './run.js'

const RATE_PER_S = 200
const PROPAGATION_S = 5
const FANOUT_SIZES = [1_000, 10_000]
const FANOUT_EVENTS = 10
const CONNECT_BATCH = 250
const REPLAY_CHANGES = 10_000

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN
}
const round = (n: number) => Math.round(n * 100) / 100
const rssOf = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024

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
  // Measure on a quiet pipeline: wait until the registrations' own ItemInfo events have passed.
  while (performance.now() - lastEventAt < 2000) await sleep(200)
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
  await nc.close()
  const hops = [...seen].filter(([rid]) => published.has(rid)).map(([rid, at]) => at - published.get(rid)!)
  // An event can beat the HTTP response home; that counts as 0, not negative.
  const latencies = [...answered].filter(([rid]) => seen.has(rid)).map(([rid, at]) => Math.max(0, seen.get(rid)! - at))
  return {
    p50_ms: round(percentile(latencies, 50)),
    p99_ms: round(percentile(latencies, 99)),
    router_hop_p50_ms: round(percentile(hops, 50)),
    router_hop_p99_ms: round(percentile(hops, 99)),
    mutations: total,
    mutations_per_s: round(achieved),
    delivered: latencies.length,
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

async function fanout(stack: Stack, n: number): Promise<Record<string, number>> {
  const url = stack.url('router')
  const owner = await token('bench-owner', 'Owner', ['owner'])
  const pid = stack.running.get('router')!.child.pid!
  const nc = await connect({ servers: stack.natsUrl })
  const publishedAt = new Map<string, number>()
  nc.subscribe(itemInfoChangedSubject(stack.stream), {
    callback: (_e, m) => {
      const { itemId, version } = m.json<{ itemId: string; version: number }>()
      publishedAt.set(`${itemId}@${version}`, performance.now())
    },
  })
  const latencies: number[] = []
  let received = 0
  const onNext = (text: string) => {
    const now = performance.now()
    const { itemId, version } = (
      JSON.parse(text) as { payload: { data: { itemInfoChanged: { itemId: string; version: number } } } }
    ).payload.data.itemInfoChanged
    const at = publishedAt.get(`${itemId}@${version}`)
    if (at === undefined) return
    received++
    latencies.push(now - at)
  }
  await sleep(1000)
  const rssBefore = rssOf(pid)
  const sockets: WebSocket[] = []
  const connectStarted = performance.now()
  const query = 'subscription { itemInfoChanged { itemId version itemName item { name price } } }'
  for (let i = 0; i < n; i += CONNECT_BATCH) {
    sockets.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(CONNECT_BATCH, n - i) }, () =>
          subscriber(url.replace('http', 'ws'), query, onNext),
        ),
      )),
    )
  }
  const connectMs = performance.now() - connectStarted
  await sleep(1000)
  const rssAfter = rssOf(pid)
  for (let e = 0; e < FANOUT_EVENTS; e++) {
    await gql(url, 'mutation { registerItem(input: { name: "Fanout", price: 2 }) { id } }', {}, owner)
    await sleep(n >= 10_000 ? 1500 : 500)
  }
  const deadline = Date.now() + 20_000
  while (received < n * FANOUT_EVENTS && Date.now() < deadline) await sleep(100)
  for (const s of sockets) s.terminate()
  await nc.close()
  await sleep(1000)
  return {
    subscribers: n,
    p50_ms: round(percentile(latencies, 50)),
    p99_ms: round(percentile(latencies, 99)),
    bytes_per_subscriber: Math.round((rssAfter - rssBefore) / n),
    delivered: received,
    expected: n * FANOUT_EVENTS,
    connect_ms: Math.round(connectMs),
  }
}

async function replay(stack: Stack): Promise<Record<string, number>> {
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
  }
}

/** One measurement failing (a loaded machine) still leaves the others' numbers, with the reason. */
async function attempt(run: () => Promise<Record<string, number>>): Promise<Record<string, number | string>> {
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
      // One generator process and one address hold every socket here: the caps are lifted for it.
      router: {
        SUBSCRIPTION_BUFFER_SIZE: '1000',
        SUBSCRIPTION_MAX_CONNECTIONS: '20000',
        SUBSCRIPTION_MAX_CONNECTIONS_PER_CALLER: '20000',
      },
    })
    try {
      await stack.start('item', 'reservation', 'payment', 'projections', 'router')
      // Fan-out first, while nothing else moves; propagation loads the whole pipeline.
      const small = await fanout(stack, FANOUT_SIZES[0])
      const large = await fanout(stack, FANOUT_SIZES[1])
      const replayed = await attempt(() => replay(stack))
      const prop = await attempt(() => propagation(stack))
      return { propagation: prop, fanout: large, fanout_1000: small, replay: replayed }
    } finally {
      await stack.dispose()
    }
  },
}
