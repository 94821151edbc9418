// The event stream on a 3-node JetStream cluster (test/nats-cluster.ts) with replicas: 3, as in
// deploy/k8s: the node leading the stream is SIGKILLed while events are published and consumed,
// and every event whose publish was acknowledged is applied; the node comes back and catches up.
import { afterAll, beforeAll, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { DEFAULT_STREAM_LIMITS, EventBus } from '@gdmarket/platform/bus'
import { EventConsumer } from '@gdmarket/platform/consumer'
import { createEvent, eventSubject } from '@gdmarket/platform/events'
import { createLogger } from '@gdmarket/platform/logger'
import { NatsCluster } from './nats-cluster.js'
import { sleep } from './harness.js'

const EVENTS = 300
const stream = `TN${randomBytes(4).toString('hex').toUpperCase()}`
const logger = createLogger('cluster-test', 'silent')
let cluster: NatsCluster
let bus: EventBus
let consumer: EventConsumer

beforeAll(async () => {
  cluster = await NatsCluster.start(3)
  bus = new EventBus({
    url: cluster.url,
    stream,
    name: 'cluster-test',
    logger,
    limits: { ...DEFAULT_STREAM_LIMITS, replicas: 3 },
  })
}, 60_000)

afterAll(async () => {
  await consumer?.stop()
  await bus?.close()
  await cluster?.dispose()
})

it('loses nothing when the node leading the stream is killed under load', async () => {
  const { js, jsm } = await bus.ready()
  expect((await jsm.streams.info(stream)).config.num_replicas).toBe(3)
  const applied = new Set<string>()
  consumer = new EventConsumer({
    bus,
    durable: 'cluster',
    events: 'item.*',
    logger,
    concurrency: 8,
    maxAckPending: 64,
    maxAttempts: 5,
    backoffMs: [50, 100],
    outageBackoffMaxMs: 500,
    ackWaitMs: 2000,
    heartbeatMs: 500,
    orderPollMaxMs: 200,
    stallAfterMs: 30_000,
    pullExpiresMs: 2000,
    handle: async event => {
      applied.add(event.id)
    },
  })
  consumer.start()

  const published: string[] = []
  let killedAt = -1
  for (let i = 0; i < EVENTS; i++) {
    const event = createEvent({
      type: 'ItemRegistered',
      aggregateId: `item-${i % 20}`,
      aggregateVersion: 1,
      data: { i },
      cause: { correlationId: 'cluster-test' },
    })
    // As the outbox relay does: publish until acknowledged (same message id, so a retry is not a second copy).
    for (;;) {
      try {
        await js.publish(eventSubject(stream, 'item', event.type), JSON.stringify(event), {
          msgID: event.id,
          timeout: 2000,
        })
        break
      } catch {
        await sleep(200)
      }
    }
    published.push(event.id)
    if (i === EVENTS / 3) {
      const leader = (await jsm.streams.info(stream)).cluster?.leader ?? 'n1'
      killedAt = Number(leader.slice(1)) - 1
      await cluster.stopNode(killedAt)
    }
  }
  const deadline = Date.now() + 60_000
  while (applied.size < published.length && Date.now() < deadline) await sleep(100)
  expect(published.filter(id => !applied.has(id))).toEqual([])
  expect(applied.size).toBe(EVENTS)

  await cluster.resumeNode(killedAt)
  const info = await jsm.streams.info(stream)
  expect(info.state.messages).toBe(EVENTS)
  expect(info.cluster?.replicas?.length).toBe(2)
}, 180_000)
