// Order across replicas (docs/events.md "Order across replicas"): two instances share one durable
// consumer on a real JetStream stream, with the ledger in a real PostgreSQL database (the item
// schema's ProcessedEvent). Handlers take random time; one instance is killed mid-way with events
// in hand, which come back to the other only after the ack wait, behind newer ones. Each key's
// events must still be applied in stream order, each exactly once.
import { afterAll, beforeAll, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import pg from 'pg'
import { EventBus } from '@gdmarket/platform/bus'
import { EventConsumer, markApplied, type ConsumerLimits } from '@gdmarket/platform/consumer'
import { createEvent, eventSubject, type EventEnvelope } from '@gdmarket/platform/events'
import { createLogger } from '@gdmarket/platform/logger'
import { migrateDatabase } from '@gdmarket/platform/migrate'
import { processedEventLedger } from '@gdmarket/platform/stream-order'
import { createItemDb, type ItemDb } from '../subgraphs/item/src/store.js'
import { ROOT, sleep } from './harness.js'

const NATS = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'
const id = randomBytes(4).toString('hex')
const stream = `TO${id.toUpperCase()}`
const dbUrl = `postgresql://postgres@127.0.0.1:5432/gdm_order_${id}`
const logger = createLogger('order-test', 'silent')
const KEYS = 8
const EVENTS = 160
const limits: ConsumerLimits = {
  concurrency: 8,
  maxAckPending: 64,
  maxAttempts: 5,
  backoffMs: [20, 50],
  outageBackoffMaxMs: 200,
  ackWaitMs: 2000,
  heartbeatMs: 500,
  orderPollMaxMs: 100,
  stallAfterMs: 30_000,
  pullExpiresMs: 2000,
}

let db: ItemDb
const buses: EventBus[] = []
const consumers: EventConsumer[] = []
const bus = () => {
  const b = new EventBus({ url: NATS, stream, name: 'order-test', logger })
  buses.push(b)
  return b
}

function instance(name: string, on: EventBus, hangAfter = Infinity): EventConsumer {
  let handled = 0
  const c = new EventConsumer({
    ...limits,
    bus: on,
    durable: 'order',
    events: 'item.*',
    logger,
    ledger: processedEventLedger(db.processedEvent),
    keyOf: e => (e.data as { key: string }).key,
    handle: async (event: EventEnvelope, { seq }) => {
      // The killed instance: takes events and never finishes them.
      if (++handled > hangAfter) return new Promise<void>(() => undefined)
      await sleep(Math.random() * 15)
      await db.$transaction(async tx => {
        if (!(await markApplied(tx, 'order', event.id))) return
        await tx.$executeRawUnsafe(
          'INSERT INTO applied_log (key, seq, instance) VALUES ($1, $2, $3)',
          (event.data as { key: string }).key,
          seq,
          name,
        )
      })
    },
  })
  consumers.push(c)
  c.start()
  return c
}

beforeAll(async () => {
  await migrateDatabase({ url: dbUrl, dir: path.join(ROOT, 'prisma', 'item') })
  db = createItemDb(dbUrl, 10)
  await db.$executeRawUnsafe(
    'CREATE TABLE applied_log (n bigserial PRIMARY KEY, key text NOT NULL, seq bigint NOT NULL, instance text NOT NULL)',
  )
  await bus().ready()
}, 60_000)

afterAll(async () => {
  await Promise.all(consumers.map(c => c.stop()))
  const { jsm } = await buses[0].ready()
  await jsm.streams.delete(stream).catch(() => undefined)
  await jsm.streams.delete(`${stream}_DEADLETTER`).catch(() => undefined)
  for (const b of buses) await b.close()
  await db.$disconnect()
  const admin = new pg.Client('postgresql://postgres@127.0.0.1:5432/postgres')
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS "gdm_order_${id}" WITH (FORCE)`)
  await admin.end()
})

it('applies each key in stream order, once, with two instances sharing the consumer and one killed', async () => {
  const doomedBus = bus()
  const doomed = instance('doomed', doomedBus, 20)
  instance('survivor', buses[0])
  const { js, jsm } = await buses[0].ready()
  for (let i = 0; i < EVENTS; i++) {
    const event = createEvent({
      type: 'ItemRegistered',
      aggregateId: `agg-${i}`,
      aggregateVersion: 1,
      data: { key: `key-${i % KEYS}`, i },
      cause: { correlationId: 'order-test' },
    })
    await js.publish(eventSubject(stream, 'item', event.type), JSON.stringify(event), { msgID: event.id })
    if (i === EVENTS / 2) {
      // Killed with events in hand: no ack, no heartbeat any more.
      await doomedBus.close()
      consumers.splice(consumers.indexOf(doomed), 1)
      void doomed.stop()
    }
  }
  const deadline = Date.now() + 90_000
  let rows: { key: string; seq: string; instance: string }[] = []
  while (Date.now() < deadline) {
    rows = (await db.$queryRawUnsafe('SELECT key, seq::text, instance FROM applied_log ORDER BY n')) as typeof rows
    if (rows.length >= EVENTS) break
    await sleep(200)
  }
  expect(rows).toHaveLength(EVENTS)
  const byKey = new Map<string, number[]>()
  for (const r of rows) byKey.set(r.key, [...(byKey.get(r.key) ?? []), Number(r.seq)])
  const outOfOrder = [...byKey.values()].filter(seqs => seqs.some((s, i) => i > 0 && s < seqs[i - 1]))
  expect(outOfOrder).toEqual([])
  expect(new Set(rows.map(r => r.seq)).size).toBe(EVENTS)
  // Both instances did part of the work.
  expect(new Set(rows.map(r => r.instance))).toEqual(new Set(['doomed', 'survivor']))
  expect((await jsm.consumers.info(stream, 'order')).num_ack_pending).toBe(0)
}, 120_000)
