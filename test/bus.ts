// Test helpers on the stack's JetStream stream: publish hand-made events, read what services published.
import { connect, type NatsConnection } from 'nats'
import { createEvent, eventSubject, parseEnvelope, type EventEnvelope } from '@gdmarket/platform/events'
import { deadLetterStream } from '@gdmarket/platform/bus'
import { encodeCaller, INTERNAL_SECRET_HEADER, IDENTITY_HEADER, type Caller } from '@gdmarket/platform/identity'
import { DEV_INTERNAL_SECRET } from '@gdmarket/platform/config'
import type { Stack } from './harness.js'

export class TestBus {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly stream: string,
  ) {}

  static async open(stack: Stack): Promise<TestBus> {
    return new TestBus(await connect({ servers: stack.natsUrl }), stack.stream)
  }

  /** Publishes an event as a producer would (msgID = event id); returns it. */
  async publish<T>(
    context: string,
    type: string,
    aggregateId: string,
    aggregateVersion: number,
    data: T,
    msgId?: string,
  ): Promise<EventEnvelope<T>> {
    const event = createEvent({ type, aggregateId, aggregateVersion, data, cause: { correlationId: 'test' } })
    await this.republish(context, event, msgId)
    return event
  }

  /** Publishes an existing envelope again; a fresh msgID gets past JetStream's duplicate window, like a redelivery. */
  async republish<T>(context: string, event: EventEnvelope<T>, msgId = event.id): Promise<void> {
    await this.nc
      .jetstream()
      .publish(eventSubject(this.stream, context, event.type), JSON.stringify(event), { msgID: msgId })
  }

  /** Publishes arbitrary bytes on `<prefix>.<subject>`, e.g. a poison message. */
  async publishRaw(subject: string, data: string): Promise<void> {
    await this.nc.jetstream().publish(`${this.stream.toLowerCase()}.${subject}`, data)
  }

  /** What consumers gave up on, from the dead-letter stream. */
  async deadLetters(): Promise<
    { subject: string; originalSubject: string | undefined; error: string | undefined; data: string }[]
  > {
    const jsm = await this.nc.jetstreamManager()
    const name = deadLetterStream(this.stream)
    const { state } = await jsm.streams.info(name)
    const out = []
    for (let seq = state.first_seq; state.messages && seq <= state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(name, { seq })
      out.push({
        subject: m.subject,
        originalSubject: m.header.get('Gdmarket-Original-Subject') || undefined,
        error: m.header.get('Gdmarket-Error') || undefined,
        data: m.string(),
      })
    }
    return out
  }

  /** Every event in the stream so far, in stream order (read message by message, no consumer state). */
  async events(): Promise<EventEnvelope[]> {
    const jsm = await this.nc.jetstreamManager()
    const { state } = await jsm.streams.info(this.stream)
    const out: EventEnvelope[] = []
    for (let seq = state.first_seq; state.messages && seq <= state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(this.stream, { seq }).catch(() => undefined)
      try {
        if (m) out.push(parseEnvelope(m.data))
      } catch {
        // not an event (a test's poison message)
      }
    }
    return out
  }

  async close(): Promise<void> {
    await this.nc.close()
  }
}

/** Headers the router sends a subgraph for a verified caller, or for an anonymous request (null). */
export function routerHeaders(caller: Caller | null, secret = DEV_INTERNAL_SECRET): Record<string, string> {
  return caller
    ? { [IDENTITY_HEADER]: encodeCaller(caller), [INTERNAL_SECRET_HEADER]: secret }
    : { [INTERNAL_SECRET_HEADER]: secret }
}
