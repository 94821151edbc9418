// A durable JetStream consumer: explicit ack, bounded concurrency with events of one key (an
// aggregate) handled one after another in stream order, retried with backoff on failure, a dead-letter
// subject after the last attempt, and drain on stop. Handlers must be idempotent (see markApplied).
import { AckPolicy, DeliverPolicy, headers as natsHeaders, nanos, type ConsumerMessages, type JsMsg } from 'nats'
import { deadLetterSubject, type EventBus } from './bus.js'
import { parseEnvelope, subjectPrefix, type EventCatalogue, type EventEnvelope, type EventOf } from './events.js'
import type { Logger } from './logger.js'

/** Where the event sits in the stream; read models record it (`seq` = stream sequence). */
export interface EventPosition {
  seq: number
}

export type EventHandler = (event: EventEnvelope, position: EventPosition) => Promise<void>

/**
 * What a consumer reacts to: one handler per event type of catalogue `C`, each given its own event
 * type. The table is the one answer to "what does it handle": the subject filter and the handled
 * types are derived from it, and events of other types are acknowledged without a handler.
 */
export type EventHandlers<C> = {
  [K in keyof C & string]?: (event: EventOf<C, K>, position: EventPosition) => Promise<void>
}

/** A consumer as a service declares it; the platform adds the bus, the logger and the limits. */
export interface ConsumerSpec<C> {
  /** Durable consumer name; also the name idempotency records are kept under. */
  durable: string
  /** Whose events it reads (eitherCatalogue for two contexts). */
  catalogue: EventCatalogue<C>
  handlers: EventHandlers<C>
  /** Events with the same key are applied in order; default: the aggregate id. */
  keyOf?: (event: EventOf<C>) => string
}

export const handledTypes = <C>(handlers: EventHandlers<C>): string[] => Object.keys(handlers)

/** The subject filter under the stream's prefix: `item.ItemHeld` for one type, else every type of the context (NATS 2.9 has one filter per consumer). */
export function subjectFilter<C>(spec: Pick<ConsumerSpec<C>, 'catalogue' | 'handlers'>): string {
  const types = handledTypes(spec.handlers)
  return `${spec.catalogue.context}.${types.length === 1 ? types[0] : '*'}`
}

/** The consumer's one handle: the event's own handler, nothing for a type the table does not list. */
export function dispatch<C>(handlers: EventHandlers<C>): EventHandler {
  const table = handlers as Record<string, EventHandler | undefined>
  return async (event, position) => {
    const handler = Object.hasOwn(table, event.type) ? table[event.type] : undefined
    if (handler) await handler(event, position)
  }
}

/** What the platform runs for a declared consumer: its table made into one handle and a subject filter. */
export type DeclaredConsumer = Pick<ConsumerOptions, 'durable' | 'events' | 'handle' | 'keyOf'>

/** Declares a consumer: `consumer({ durable, catalogue, handlers, keyOf })`; the handlers are typed by the catalogue. */
export function consumer<C>(spec: ConsumerSpec<C>): DeclaredConsumer {
  return {
    durable: spec.durable,
    events: subjectFilter(spec),
    handle: dispatch(spec.handlers),
    // The wire's events are trusted to match their type's payload: producers emit through the same catalogue.
    keyOf: spec.keyOf as ((event: EventEnvelope) => string) | undefined,
  }
}

export interface ConsumerOptions {
  bus: EventBus
  /** Durable consumer name; also the name idempotency records are kept under. */
  durable: string
  /** Which events, as a subject under the stream's prefix: `reservation.*`, `item.ItemHeld`, `*.*` (one filter: NATS 2.9 has no multi-filter consumers). */
  events: string
  handle: EventHandler
  /** Events with the same key are applied in order; default: the aggregate id. */
  keyOf?: (event: EventEnvelope) => string
  logger: Logger
  /** Events handled at once. */
  concurrency: number
  /** Attempts before an event goes to the dead-letter subject. */
  maxAttempts: number
  /** Delay before each retry (the last one repeats); each must be shorter than ackWaitMs. */
  backoffMs: number[]
  /** Time JetStream waits for an ack before redelivering. */
  ackWaitMs: number
  /** Liveness fails when an event has been in hand this long without finishing. */
  stallAfterMs: number
}

export class EventConsumer {
  private messages: ConsumerMessages | undefined
  private loop: Promise<void> | undefined
  private readonly chains = new Map<string, Promise<void>>()
  private inFlight = 0
  private slotFree: (() => void) | undefined
  private oldestStart = new Map<JsMsg, number>()
  private stopped = false

  constructor(private readonly o: ConsumerOptions) {}

  get name(): string {
    return this.o.durable
  }

  /** Creates the durable consumer if needed and starts handling; returns at once, retrying in the background. */
  start(): void {
    this.loop = this.run()
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const { js, jsm } = await this.o.bus.ready()
        const prefix = subjectPrefix(this.o.bus.stream)
        await jsm.consumers.add(this.o.bus.stream, {
          durable_name: this.o.durable,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          filter_subject: `${prefix}.${this.o.events}`,
          ack_wait: nanos(this.o.ackWaitMs),
          max_ack_pending: this.o.concurrency * 4,
        })
        const consumer = await js.consumers.get(this.o.bus.stream, this.o.durable)
        this.messages = await consumer.consume({ max_messages: this.o.concurrency * 2 })
        for await (const msg of this.messages) {
          if (this.stopped) {
            // Pulled but not started: hand it back now rather than after the ack wait.
            msg.nak()
            continue
          }
          await this.acquireSlot()
          this.dispatch(msg)
        }
      } catch (err) {
        if (this.stopped) break
        this.o.logger.warn({ err, consumer: this.o.durable }, 'consumer interrupted; retrying')
        await new Promise(r => setTimeout(r, 1000))
      }
    }
  }

  private async acquireSlot(): Promise<void> {
    while (this.inFlight >= this.o.concurrency) await new Promise<void>(r => (this.slotFree = r))
    this.inFlight++
  }

  private releaseSlot(): void {
    this.inFlight--
    const free = this.slotFree
    this.slotFree = undefined
    free?.()
  }

  private dispatch(msg: JsMsg): void {
    let event: EventEnvelope
    try {
      event = parseEnvelope(msg.data)
    } catch (err) {
      this.o.logger.error({ err, subject: msg.subject }, 'unreadable event sent to dead letters')
      void this.deadLetter(msg, err).finally(() => this.releaseSlot())
      return
    }
    const key = this.keyOf(event)
    const previous = this.chains.get(key) ?? Promise.resolve()
    const current = previous.then(() => this.process(msg, event)).finally(() => this.releaseSlot())
    this.chains.set(key, current)
    void current.finally(() => {
      if (this.chains.get(key) === current) this.chains.delete(key)
    })
  }

  /** A malformed payload must not stop the consumer: it fails in the handler and dead-letters like any other. */
  private keyOf(event: EventEnvelope): string {
    try {
      return this.o.keyOf?.(event) ?? event.aggregateId
    } catch {
      return event.aggregateId
    }
  }

  /**
   * Applies one event, retrying in place with backoff: the event's key stays blocked meanwhile, so a
   * later event of the same aggregate never overtakes one that failed for a passing reason. Events
   * of other keys go on. After the last attempt the event goes to the dead letters and the key moves on.
   */
  private async process(msg: JsMsg, event: EventEnvelope): Promise<void> {
    const log = this.o.logger.child({ eventId: event.id, type: event.type, correlationId: event.correlationId })
    // Redeliveries (after a crash, or handed back on stop) count as attempts already made.
    for (let attempt = msg.info.deliveryCount; ; attempt++) {
      this.oldestStart.set(msg, Date.now())
      try {
        await this.o.handle(event, { seq: msg.seq })
        msg.ack()
        return
      } catch (err) {
        if (attempt >= this.o.maxAttempts) {
          log.error({ err, attempt }, 'event failed on its last attempt; sent to dead letters')
          await this.deadLetter(msg, err)
          return
        }
        const delay = this.o.backoffMs[Math.min(attempt - 1, this.o.backoffMs.length - 1)] ?? 1000
        if (this.stopped) {
          msg.nak(delay)
          return
        }
        log.warn({ err, attempt, retryInMs: delay }, 'event failed; retrying')
        msg.working() // restarts JetStream's ack timer: still ours
        await new Promise(r => setTimeout(r, delay))
      } finally {
        this.oldestStart.delete(msg)
      }
    }
  }

  private async deadLetter(msg: JsMsg, err: unknown): Promise<void> {
    try {
      const { js } = await this.o.bus.ready()
      await js.publish(deadLetterSubject(this.o.bus.stream, this.o.durable), msg.data, {
        headers: deadLetterHeaders(msg, err),
      })
      msg.term(String(err))
    } catch (e) {
      this.o.logger.error({ err: e }, 'could not dead-letter an event; it will be redelivered')
      msg.nak(1000)
    }
  }

  /** Liveness: a reason while an event has been in hand too long, null otherwise. */
  stalled(): string | null {
    const now = Date.now()
    for (const started of this.oldestStart.values()) {
      if (now - started > this.o.stallAfterMs) return `an event has been in hand for ${now - started} ms`
    }
    return null
  }

  /** Stops taking events, finishes those in hand (acking them), then returns. */
  async stop(): Promise<void> {
    this.stopped = true
    await this.messages?.close().catch(() => undefined)
    this.slotFree?.()
    await Promise.allSettled([...this.chains.values()])
    await this.loop?.catch(() => undefined)
  }
}

function deadLetterHeaders(msg: JsMsg, err: unknown) {
  const h = natsHeaders()
  h.set('Gdmarket-Original-Subject', msg.subject)
  h.set('Gdmarket-Error', String(err instanceof Error ? err.message : err).slice(0, 500))
  h.set('Gdmarket-Attempts', String(msg.info.deliveryCount))
  return h
}

/** The minimal transaction shape markApplied needs (the ProcessedEvent model of each database). */
export interface ProcessedEventTx {
  processedEvent: {
    createMany(args: {
      data: { consumer: string; eventId: string }[]
      skipDuplicates: true
    }): Promise<{ count: number }>
  }
}

/** Records, in the handler's transaction, that `consumer` applied `eventId`; false if it already had. */
export async function markApplied(tx: ProcessedEventTx, consumer: string, eventId: string): Promise<boolean> {
  const { count } = await tx.processedEvent.createMany({ data: [{ consumer, eventId }], skipDuplicates: true })
  return count === 1
}
