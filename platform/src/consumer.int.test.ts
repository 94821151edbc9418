// The event consumer against a real NATS JetStream: per-key order survives a failing handler,
// other keys go on meanwhile, and an event that always fails ends in the dead letters.
import { afterAll, beforeAll, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { EventBus, deadLetterStream } from './bus.js'
import { EventConsumer } from './consumer.js'
import { createEvent, eventSubject, type EventEnvelope } from './events.js'
import { createLogger } from './logger.js'

const stream = `TC${randomBytes(4).toString('hex').toUpperCase()}`
const logger = createLogger('consumer-test', 'silent')
const bus = new EventBus({
  url: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
  stream,
  name: 'consumer-test',
  logger,
})
const handled: string[] = []
const failuresLeft = new Map<string, number>([['A', 2]])
let consumer: EventConsumer

async function publish(aggregateId: string, label: string): Promise<void> {
  const { js } = await bus.ready()
  const event = createEvent({
    type: 'ItemRegistered',
    aggregateId,
    aggregateVersion: 1,
    data: { label },
    cause: { correlationId: 'test' },
  })
  await js.publish(eventSubject(stream, 'item', event.type), JSON.stringify(event), { msgID: event.id })
}

async function until(ok: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms; handled: ${handled.join(',')}`)
    await new Promise(r => setTimeout(r, 20))
  }
}

beforeAll(async () => {
  await bus.ready()
  consumer = new EventConsumer({
    bus,
    durable: 'test',
    events: 'item.*',
    logger,
    concurrency: 4,
    maxAttempts: 3,
    backoffMs: [50, 100],
    ackWaitMs: 5_000,
    stallAfterMs: 10_000,
    handle: async (event: EventEnvelope) => {
      const label = (event.data as { label: string }).label
      const left = failuresLeft.get(label) ?? 0
      handled.push(`${label}${left ? '!' : ''}`)
      if (left) {
        failuresLeft.set(label, left - 1)
        throw new Error(`${label} failed`)
      }
    },
  })
  consumer.start()
})

afterAll(async () => {
  await consumer.stop()
  const { jsm } = await bus.ready()
  for (const s of [stream, deadLetterStream(stream)]) await jsm.streams.delete(s).catch(() => undefined)
  await bus.close()
})

it('retries a failing event in place: the same key waits, other keys go on', async () => {
  await publish('key-1', 'A') // fails twice, then succeeds
  await publish('key-1', 'B')
  await publish('key-2', 'C')
  await until(() => handled.includes('A') && handled.includes('B') && handled.includes('C'))
  const of1 = handled.filter(h => h.startsWith('A') || h.startsWith('B'))
  expect(of1).toEqual(['A!', 'A!', 'A', 'B'])
  // C (another key) did not wait for A's retries.
  expect(handled.indexOf('C')).toBeLessThan(handled.indexOf('A'))
})

it('dead-letters an event that fails on every attempt and moves on', async () => {
  failuresLeft.set('D', 99)
  await publish('key-3', 'D')
  await publish('key-3', 'E')
  await until(() => handled.includes('E'))
  expect(handled.filter(h => h.startsWith('D'))).toEqual(['D!', 'D!', 'D!'])
  const { jsm } = await bus.ready()
  await until(async () => (await jsm.streams.info(deadLetterStream(stream))).state.messages === 1)
  expect(consumer.stalled()).toBeNull()
})
