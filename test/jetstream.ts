// A JetStream stream of a test file's own (a random name, subjects `<stream>.>`), the buses and
// consumers the file makes on it, and their teardown after the file: consumers stopped, the stream
// and its dead letters deleted, buses closed.
import { afterAll, beforeAll } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { deadLetterStream, EventBus } from '@gdmarket/platform/bus'
import type { EventConsumer } from '@gdmarket/platform/consumer'
import { createLogger } from '@gdmarket/platform/logger'

export const NATS = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'

/** Call at the top of a test file: `prefix` starts the stream's name, `name` is the buses' and the logger's. */
export function testStream(prefix: string, name: string) {
  const stream = `${prefix}${randomBytes(4).toString('hex').toUpperCase()}`
  const logger = createLogger(name, 'silent')
  const buses: EventBus[] = []
  /** Consumers to stop after the file; one a test kills itself it takes out again. */
  const consumers: EventConsumer[] = []
  const newBus = (): EventBus => {
    const bus = new EventBus({ url: NATS, stream, name, logger })
    buses.push(bus)
    return bus
  }
  const bus = newBus()

  beforeAll(async () => {
    const { jsm } = await bus.ready()
    // Test-local subjects (`itemtest.*`, …) so each test has its own durable consumer.
    await jsm.streams.update(stream, { subjects: [`${stream.toLowerCase()}.>`] })
  })
  afterAll(async () => {
    await Promise.all(consumers.map(c => c.stop()))
    const { jsm } = await bus.ready()
    for (const s of [stream, deadLetterStream(stream)]) await jsm.streams.delete(s).catch(() => undefined)
    for (const b of buses) await b.close()
  })
  return { stream, logger, bus, newBus, consumers }
}
