// The event consumer against a real NATS JetStream (the nats-server CI installs: Debian's 2.9):
// per-key order survives a failing handler while other keys go on; an outage pauses the consumer
// for as long as it lasts and dead-letters nothing; an event that keeps failing ends in the dead
// letters and is never delivered again (checked past the ack wait: 2.9 ignores `term(reason)`);
// the heartbeat keeps a slow event from being redelivered; a killed instance's events come back
// to another one after the short ack wait; `npm run deadletters` lists, shows and replays.
import { expect, it } from '@jest/globals'
import { spawn } from 'node:child_process'
import path from 'node:path'
import { NATS, testStream } from '../../test/jetstream.js'
import { deadLetterStream } from './bus.js'
import { EventConsumer, type ConsumerLimits } from './consumer.js'
import { createEvent, eventSubject, type EventEnvelope } from './events.js'

const { stream, logger, bus, newBus, consumers } = testStream('TC', 'consumer-test')
const ACK_WAIT_MS = 1500
const limits: ConsumerLimits = {
  concurrency: 4,
  maxAckPending: 32,
  maxAttempts: 3,
  backoffMs: [50, 100],
  outageBackoffMaxMs: 200,
  ackWaitMs: ACK_WAIT_MS,
  heartbeatMs: 400,
  orderPollMaxMs: 200,
  stallAfterMs: 10_000,
  pullExpiresMs: 2000,
}

/** Every delivery a handler saw, as `label` (`label!` when it failed). */
const handled: string[] = []
/** Per label: what the handler does with it. */
const behaviour = new Map<string, { fail?: number; outage?: number; slowMs?: number }>()

async function publish(aggregateId: string, label: string, durable = 'test'): Promise<void> {
  const { js } = await bus.ready()
  const event = createEvent({
    type: 'ItemRegistered',
    aggregateId,
    aggregateVersion: 1,
    data: { label, durable },
    cause: { correlationId: 'test' },
  })
  const subject = eventSubject(stream, 'item', event.type).replace('.item.', `.item${durable}.`)
  await js.publish(subject, JSON.stringify(event), { msgID: event.id })
}

async function handle(event: EventEnvelope): Promise<void> {
  const label = (event.data as { label: string }).label
  const b = behaviour.get(label) ?? {}
  if (b.slowMs) await new Promise(r => setTimeout(r, b.slowMs))
  if (b.outage) {
    b.outage--
    handled.push(`${label}!`)
    throw Object.assign(new Error("Can't reach database server at 127.0.0.1:5432"), { code: 'P1001' })
  }
  if (b.fail) {
    b.fail--
    handled.push(`${label}!`)
    throw new Error(`${label} is not acceptable`)
  }
  handled.push(label)
}

function startConsumer(durable: string, on = bus, handler = handle): EventConsumer {
  const c = new EventConsumer({
    ...limits,
    bus: on,
    durable,
    events: `item${durable}.*` as `item.${string}`,
    logger,
    handle: handler,
  })
  consumers.push(c)
  c.start()
  return c
}

async function until(ok: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms
  while (
    !(await Promise.resolve()
      .then(ok)
      .catch(() => false))
  ) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms; handled: ${handled.join(',')}`)
    await new Promise(r => setTimeout(r, 20))
  }
}

const count = (label: string) => handled.filter(h => h === label).length
const deadLetters = async () => {
  const { jsm } = await bus.ready()
  return (await jsm.streams.info(deadLetterStream(stream))).state.messages
}

it('retries a failing event in place: the same key waits, other keys go on', async () => {
  startConsumer('order')
  behaviour.set('A', { fail: 2 })
  await publish('key-1', 'A', 'order')
  await publish('key-1', 'B', 'order')
  await publish('key-2', 'C', 'order')
  await until(() => handled.includes('A') && handled.includes('B') && handled.includes('C'))
  const of1 = handled.filter(h => h.startsWith('A') || h.startsWith('B'))
  expect(of1).toEqual(['A!', 'A!', 'A', 'B'])
  // C (another key) did not wait for A's retries.
  expect(handled.indexOf('C')).toBeLessThan(handled.indexOf('A'))
})

it('pauses through an outage longer than every attempt and backoff, then applies; nothing dead-lettered', async () => {
  const c = startConsumer('outage')
  behaviour.set('O1', { outage: 25 }) // 25 failed tries, far beyond maxAttempts (3)
  await publish('key-o', 'O1', 'outage')
  await publish('key-o', 'O2', 'outage')
  await until(() => c.paused)
  await until(() => handled.includes('O2'), 30_000)
  expect(handled.filter(h => h.startsWith('O'))).toEqual([...Array(25).fill('O1!'), 'O1', 'O2'])
  expect(c.paused).toBe(false)
  expect(await deadLetters()).toBe(0)
})

it('dead-letters an event that keeps failing, and never delivers it again past the ack wait', async () => {
  startConsumer('dead')
  behaviour.set('D', { fail: 99 })
  await publish('key-3', 'D', 'dead')
  await publish('key-3', 'E', 'dead')
  await until(() => handled.includes('E'))
  await until(async () => (await deadLetters()) === 1)
  expect(count('D!')).toBe(3)
  // Three ack waits later: nats-server 2.9 redelivers a message terminated with a reason; ours stays gone.
  await new Promise(r => setTimeout(r, 3 * ACK_WAIT_MS + 500))
  expect(count('D!')).toBe(3)
  const { jsm } = await bus.ready()
  const info = await jsm.consumers.info(stream, 'dead')
  expect(info.num_ack_pending).toBe(0)
  expect(info.num_redelivered).toBe(0)
  expect(await deadLetters()).toBe(1)
})

it('keeps a slow event (several ack waits long) with heartbeats: delivered once', async () => {
  startConsumer('slow')
  behaviour.set('S', { slowMs: 3 * ACK_WAIT_MS })
  await publish('key-s', 'S', 'slow')
  await until(() => handled.includes('S'), 20_000)
  await new Promise(r => setTimeout(r, ACK_WAIT_MS))
  expect(count('S')).toBe(1)
  const { jsm } = await bus.ready()
  expect((await jsm.consumers.info(stream, 'slow')).num_redelivered).toBe(0)
})

it("gives a killed instance's events to another instance after the short ack wait", async () => {
  const doomedBus = newBus()
  // The doomed instance takes events and never finishes them, as if it had been SIGKILLed mid-way.
  const doomed = startConsumer('kill', doomedBus, () => new Promise<void>(() => undefined))
  await publish('key-k', 'K1', 'kill')
  await publish('key-k2', 'K2', 'kill')
  const { jsm } = await bus.ready()
  await until(async () => (await jsm.consumers.info(stream, 'kill')).num_ack_pending === 2)
  const killedAt = Date.now()
  await doomedBus.close() // its connection gone: no ack, no heartbeat
  consumers.splice(consumers.indexOf(doomed), 1) // its handler never returns: nothing to wait for
  void doomed.stop()
  startConsumer('kill')
  await until(() => handled.includes('K1') && handled.includes('K2'), 20_000)
  const backAfterMs = Date.now() - killedAt
  console.log(
    `events of a killed instance applied by another ${backAfterMs} ms after the kill (ack wait ${ACK_WAIT_MS} ms)`,
  )
  expect(backAfterMs).toBeLessThan(ACK_WAIT_MS * 6)
  expect(count('K1')).toBe(1)
})

/** `npm run deadletters -- …` against this test's stream. */
function deadlettersCli(...args: string[]): Promise<{ code: number | null; out: string }> {
  const root = path.resolve(import.meta.dirname, '..', '..')
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/deadletters.ts', ...args], {
    cwd: root,
    env: { ...process.env, NATS_URL: NATS, NATS_STREAM: stream },
  })
  let out = ''
  child.stdout.on('data', d => (out += d))
  child.stderr.on('data', d => (out += d))
  return new Promise(resolve => child.once('exit', code => resolve({ code, out })))
}

it('lets an event wait for company only while events come close together (CONSUMER_BATCH_LINGER_MS)', async () => {
  const LINGER_MS = 1000
  const batches: string[][] = []
  const label = (e: EventEnvelope) => (e.data as { label: string }).label
  const c = new EventConsumer({
    ...limits,
    bus,
    durable: 'linger',
    events: 'itemlinger.*' as `item.${string}`,
    logger,
    recordsApplied: true,
    batchLingerMs: LINGER_MS,
    handle: async e => void batches.push([label(e)]),
    handleBatch: async batch => void batches.push(batch.map(b => label(b.event))),
  })
  consumers.push(c)
  c.start()
  await publish('l-w', 'warm', 'linger')
  await until(() => batches.length === 1)
  await new Promise(r => setTimeout(r, LINGER_MS + 100))
  // Alone (nothing came within the linger before it): applied at once, not a linger later.
  const sent = Date.now()
  await publish('l-a', 'alone', 'linger')
  await until(() => batches.length === 2)
  expect(Date.now() - sent).toBeLessThan(LINGER_MS)
  // Close behind it: `first` waits, and the two sent 200 ms later share its batch.
  await publish('l-b', 'first', 'linger')
  await new Promise(r => setTimeout(r, 200))
  await publish('l-c', 'second', 'linger')
  await publish('l-d', 'third', 'linger')
  await until(() => batches.flat().length === 5)
  expect(batches).toEqual([['warm'], ['alone'], ['first', 'second', 'third']])
})

it('lists, shows and replays a dead letter with npm run deadletters; the replay applies once', async () => {
  startConsumer('replay')
  behaviour.set('R', { fail: 3 }) // exactly maxAttempts: dead-lettered, and would pass on a later try
  await publish('key-r', 'R', 'replay')
  await until(async () => (await deadlettersCli('list')).out.includes('is not acceptable'), 30_000)
  const listed = await deadlettersCli('list')
  const line = listed.out.split('\n').find(l => l.includes('\treplay\t'))!
  const id = line.split('\t')[0]
  const shown = await deadlettersCli('show', id)
  expect(JSON.parse(shown.out)).toMatchObject({ consumer: 'replay', error: 'R is not acceptable' })

  expect((await deadlettersCli('replay', id)).out).toContain(`replayed 1: ${id}`)
  await until(() => handled.includes('R'))
  // Replaying it again finds nothing: the dead letter was removed by the first replay.
  expect((await deadlettersCli('replay', id)).code).toBe(1)
  expect((await deadlettersCli('list')).out).not.toContain('\treplay\t')
  await new Promise(r => setTimeout(r, 2 * ACK_WAIT_MS))
  expect(count('R')).toBe(1)
}, 90_000)
