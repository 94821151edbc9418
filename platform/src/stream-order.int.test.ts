// Order across replicas against a real NATS JetStream: instances sharing one durable consumer,
// keys interleaved, a crashed instance's events redelivered to the others; a checker counts every
// event applied before an earlier event of its key. Also what a turn costs a single instance: no
// ack floor read per event (it holds every earlier delivery, so the floor cannot change its answer).
import { expect, it } from '@jest/globals'
import { testStream } from '../../test/jetstream.js'
import { EventConsumer, type ConsumerLimits } from './consumer.js'
import { createEvent, eventSubject, type EventEnvelope } from './events.js'
import type { ConsumerLedger } from './stream-order.js'

const { stream, logger, bus, newBus, consumers } = testStream('TO', 'stream-order-test')
const ACK_WAIT_MS = 1500
const limits: ConsumerLimits = {
  concurrency: 4,
  maxAckPending: 32,
  maxAttempts: 3,
  backoffMs: [20, 50],
  outageBackoffMaxMs: 100,
  ackWaitMs: ACK_WAIT_MS,
  heartbeatMs: 400,
  orderPollMaxMs: 50,
  stallAfterMs: 10_000,
  pullExpiresMs: 2000,
}

/** The handlers' database, as a ledger: which events each consumer applied (or dead-lettered). */
function memoryLedger(): ConsumerLedger {
  const outcomes = new Map<string, Set<string>>()
  return {
    async settled(consumer, ids) {
      const had = outcomes.get(consumer) ?? new Set()
      return new Set(ids.filter(id => had.has(id)))
    },
    async record(consumer, id) {
      outcomes.set(consumer, (outcomes.get(consumer) ?? new Set()).add(id))
    },
  }
}

/** Per key, the numbers applied in the order they were applied; an application before its predecessor counts as out of order. */
class OrderChecker {
  readonly applied = new Map<string, number[]>()
  readonly seen = new Set<string>()
  outOfOrder = 0
  duplicates = 0

  apply(event: EventEnvelope): void {
    if (this.seen.has(event.id)) {
      this.duplicates++
      return
    }
    this.seen.add(event.id)
    const { key, n } = event.data as { key: string; n: number }
    const list = this.applied.get(key) ?? []
    if (n !== list.length) this.outOfOrder++
    list.push(n)
    this.applied.set(key, list)
  }
}

async function publish(durable: string, key: string, n: number): Promise<void> {
  const { js } = await bus.ready()
  const event = createEvent({
    type: 'ItemRegistered',
    aggregateId: key,
    aggregateVersion: n + 1,
    data: { key, n },
    cause: { correlationId: 'test' },
  })
  const subject = eventSubject(stream, 'item', event.type).replace('.item.', `.item${durable}.`)
  await js.publish(subject, JSON.stringify(event), { msgID: event.id })
}

function startConsumer(
  durable: string,
  handle: (e: EventEnvelope) => Promise<void>,
  ledger: ConsumerLedger,
  on = bus,
): EventConsumer {
  const c = new EventConsumer({
    ...limits,
    bus: on,
    durable,
    events: `item${durable}.*`,
    logger,
    handle,
    ledger,
  })
  consumers.push(c)
  c.start()
  return c
}

async function until(ok: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  while (
    !(await Promise.resolve()
      .then(ok)
      .catch(() => false))
  ) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`)
    await new Promise(r => setTimeout(r, 20))
  }
}

const jitter = () => new Promise(r => setTimeout(r, Math.random() * 6))

it('applies every key in stream order across two instances, with a crashed instance redelivering its events', async () => {
  const ledger = memoryLedger()
  const checker = new OrderChecker()
  const keys = ['a', 'b', 'c', 'd', 'e', 'f']
  const next = new Map(keys.map(k => [k, 0]))
  const publishRound = async (rounds: number) => {
    for (let r = 0; r < rounds; r++)
      for (const k of keys) {
        const n = next.get(k)!
        next.set(k, n + 1)
        await publish('pair', k, n)
      }
  }
  // The first instance takes the first events and dies with them in hand (no ack, no heartbeat).
  const doomedBus = newBus()
  const doomed = startConsumer('pair', () => new Promise<void>(() => undefined), ledger, doomedBus)
  // Its handler never returns: stopping it would wait forever.
  consumers.splice(consumers.indexOf(doomed), 1)
  await publishRound(2)
  const { jsm } = await bus.ready()
  await until(async () => (await jsm.consumers.info(stream, 'pair')).num_ack_pending > 0)
  // What it holds comes back to the others only after the ack wait, behind newer events of its keys.
  const held = (await jsm.consumers.info(stream, 'pair')).num_ack_pending
  await doomedBus.close()
  void doomed.stop()

  const apply = async (e: EventEnvelope) => {
    await jitter()
    checker.apply(e)
  }
  startConsumer('pair', apply, ledger, newBus())
  startConsumer('pair', apply, ledger, newBus())
  await publishRound(40)
  const total = keys.length * 42
  await until(() => checker.seen.size === total, 60_000)
  console.log(
    `two instances, ${total} events over ${keys.length} keys, ${held} held by the crashed one: ` +
      `${checker.outOfOrder} out of order, ${checker.duplicates} applied twice`,
  )
  expect(held).toBeGreaterThan(0)
  expect(checker.outOfOrder).toBe(0)
  for (const k of keys) expect(checker.applied.get(k)).toEqual(Array.from({ length: 42 }, (_, i) => i))
}, 90_000)

it('reads no ack floor per event on a single instance, idle or busy, and keeps order', async () => {
  const ledger = memoryLedger()
  const checker = new OrderChecker()
  const own = newBus()
  const { jsm } = await own.ready()
  let floorReads = 0
  const info = jsm.consumers.info.bind(jsm.consumers)
  jsm.consumers.info = (s, d) => {
    floorReads++
    return info(s, d)
  }
  startConsumer(
    'single',
    async e => {
      await jitter()
      checker.apply(e)
    },
    ledger,
    own,
  )
  // Idle: one event at a time, each well past the floor's maximum age (orderPollMaxMs).
  for (let n = 0; n < 5; n++) {
    await publish('single', 'k', n)
    await until(() => checker.seen.size === n + 1)
    await new Promise(r => setTimeout(r, limits.orderPollMaxMs * 2))
  }
  // Busy: interleaved keys, many in hand at once.
  for (let n = 0; n < 60; n++) await publish('single', `k${n % 3}`, Math.floor(n / 3))
  await until(() => checker.seen.size === 65)
  console.log(`single instance, 65 events: ${floorReads} consumer info reads (the start's and the first turn's)`)
  expect(checker.outOfOrder).toBe(0)
  expect(floorReads).toBeLessThanOrEqual(3)
})
