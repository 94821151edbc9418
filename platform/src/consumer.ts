// A durable JetStream consumer: explicit ack, bounded concurrency, events of one key (an aggregate)
// applied in stream order (across replicas too, with a ledger: stream-order.ts), a heartbeat
// (`working()`) on every event in hand so the ack wait can be short, and two kinds of failure:
// - an outage (database or a needed service down, connection dropped: outage.ts): the event stays
//   in hand and is retried with capped backoff for as long as it takes; nothing is dropped;
// - a failure no retry can fix (unreadable payload, a handler that keeps rejecting the event):
//   after CONSUMER_MAX_ATTEMPTS the event goes to the dead letters and is terminated for good.
// On stop it takes nothing new, hands back what it has not started, and finishes what it holds.
// Handlers must be idempotent (see markApplied).
import { AckPolicy, DeliverPolicy, headers as natsHeaders, nanos, type ConsumerMessages, type JsMsg } from 'nats'
import { performance } from 'node:perf_hooks'
import { deadLetterSubject, type EventBus } from './bus.js'
import { parseEnvelope, subjectPrefix, type EventCatalogue, type EventEnvelope, type EventOf } from './events.js'
import type { Logger } from './logger.js'
import { isOutage } from './outage.js'
import { StreamOrder, type ConsumerLedger } from './stream-order.js'

/** Where the event sits in the stream; read models record it (`seq` = stream sequence). */
export interface EventPosition {
  seq: number
}

export type EventHandler = (event: EventEnvelope, position: EventPosition) => Promise<void>

/**
 * Applies several events (of different keys, each one's turn come) in one transaction: all of them
 * or none. When it throws, each event is applied again on its own by the handler, with its retries.
 */
export type BatchHandler = (batch: { event: EventEnvelope; position: EventPosition }[]) => Promise<void>

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
  /**
   * Every handler records its event applied itself (markApplied under the durable's name, in the
   * transaction of its change), so the consumer need not write that record again after it.
   */
  recordsApplied?: boolean
  /** Applies several events in one transaction (transactionalHandlers makes it with the handlers). */
  handleBatch?: BatchHandler
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
export type DeclaredConsumer = Pick<
  ConsumerOptions,
  'durable' | 'events' | 'handle' | 'keyOf' | 'handles' | 'recordsApplied' | 'handleBatch'
>

/** Declares a consumer: `consumer({ durable, catalogue, handlers, keyOf })`; the handlers are typed by the catalogue. */
export function consumer<C>(spec: ConsumerSpec<C>): DeclaredConsumer {
  return {
    durable: spec.durable,
    events: subjectFilter(spec),
    handle: dispatch(spec.handlers),
    handles: type => Object.hasOwn(spec.handlers, type),
    recordsApplied: spec.recordsApplied,
    handleBatch: spec.handleBatch,
    // The wire's events are trusted to match their type's payload: producers emit through the same catalogue.
    keyOf: spec.keyOf as ((event: EventEnvelope) => string) | undefined,
  }
}

/** The consumer's limits, all from the service's config (CONSUMER_*). */
export interface ConsumerLimits {
  /** Events handled at once. */
  concurrency: number
  /** Events delivered and not yet acknowledged, across every instance sharing the durable consumer. */
  maxAckPending: number
  /** Attempts before an event that keeps failing (not an outage) goes to the dead letters. */
  maxAttempts: number
  /** Delay before each retry (the last one repeats). */
  backoffMs: number[]
  /** Longest delay between two attempts while a database or service is down. */
  outageBackoffMaxMs: number
  /** Time JetStream waits for an ack (or a heartbeat) before redelivering. */
  ackWaitMs: number
  /** How often every event in hand is reported as still being worked on; well under ackWaitMs. */
  heartbeatMs: number
  /** Longest pause between two looks while an earlier event of the same key is not settled. */
  orderPollMaxMs: number
  /** Liveness fails when one attempt has been running this long. */
  stallAfterMs: number
  /** How long one pull request waits for events; a pull lost with a NATS restart is noticed within it. */
  pullExpiresMs: number
  /** Most events applied in one transaction by `handleBatch` (default 32). */
  batchMax?: number
  /**
   * While events come closer together than this, an event whose turn comes alone waits this long
   * for others to share its batch (its statement, its commit, its ack); 0: never wait. An event
   * that comes alone (no other this recently) never waits.
   */
  batchLingerMs?: number
}

export interface ConsumerOptions extends ConsumerLimits {
  bus: EventBus
  /** Durable consumer name; also the name idempotency records are kept under. */
  durable: string
  /** Which events, as a subject under the stream's prefix: `reservation.*`, `item.ItemHeld`, `*.*` (one filter: NATS 2.9 has no multi-filter consumers). */
  events: string
  handle: EventHandler
  /**
   * Which event types `handle` does anything with; the others (the subject filter is one context's
   * every type) are acknowledged on arrival: no turn to wait for, nothing to record. Default: all.
   */
  handles?: (type: string) => boolean
  /** `handle` records each event it applies in the ledger itself (see ConsumerSpec.recordsApplied). */
  recordsApplied?: boolean
  /**
   * Applies events whose turn came together in one transaction (see BatchHandler); only with
   * recordsApplied. Without it, or for an event alone, `handle` applies each.
   */
  handleBatch?: BatchHandler
  /** Events with the same key are applied in order; default: the aggregate id. */
  keyOf?: (event: EventEnvelope) => string
  logger: Logger
  /** Keeps order across instances sharing the durable consumer; without it, order holds within one instance. */
  ledger?: ConsumerLedger
}

/** An event whose turn came, waiting for the next batch; told whether the batch applied it. */
interface Ready {
  entry: InHand
  applied: (ok: boolean) => void
}

/** One delivered message while this instance holds it. */
interface InHand {
  msg: JsMsg
  seq: number
  event: EventEnvelope
  key: string
  done: Promise<void>
  finish: () => void
  /** When the running attempt started; undefined between attempts. */
  attemptStarted?: number
}

class Stopped extends Error {}

export class EventConsumer {
  private messages: ConsumerMessages | undefined
  private loop: Promise<void> | undefined
  private readonly inHand = new Map<number, InHand>()
  private readonly tasks = new Set<Promise<void>>()
  private running = 0
  private readonly slotWaiters: (() => void)[] = []
  private readonly ready: Ready[] = []
  private batching = false
  /** When the last event's turn came, and whether it came within batchLingerMs of the one before. */
  private lastReadyAt = 0
  private dense = false
  private heartbeat: NodeJS.Timeout | undefined
  private order: StreamOrder | undefined
  private stopped = false
  private readonly wakeOnStop = new Set<() => void>()
  /** Since when an outage keeps events from applying (for the log and readiness), undefined while fine. */
  private outageSince: number | undefined

  constructor(private readonly o: ConsumerOptions) {}

  get name(): string {
    return this.o.durable
  }

  /** True while events wait for a database or service to come back. */
  get paused(): boolean {
    return this.outageSince !== undefined
  }

  /** Creates the durable consumer if needed and starts handling; returns at once, retrying in the background. */
  start(): void {
    this.heartbeat = setInterval(() => this.beat(), this.o.heartbeatMs)
    this.heartbeat.unref()
    this.loop = this.run()
  }

  private filter(): string {
    return `${subjectPrefix(this.o.bus.stream)}.${this.o.events}`
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const { js } = await this.o.bus.ready()
        await this.ensureDurable()
        if (this.o.ledger)
          this.order ??= new StreamOrder({
            jsm: async () => (await this.o.bus.ready()).jsm,
            stream: this.o.bus.stream,
            durable: this.o.durable,
            filter: this.filter(),
            keyOf: e => this.keyOf(e),
            ignored: e => this.ignored(e),
            floorMaxAgeMs: this.o.orderPollMaxMs,
          })
        const consumer = await js.consumers.get(this.o.bus.stream, this.o.durable)
        // Short pulls: after NATS comes back the pull is renewed within about this long (its heartbeat is half).
        this.messages = await consumer.consume({
          max_messages: Math.max(this.o.concurrency * 2, 8),
          expires: this.o.pullExpiresMs,
        })
        for await (const msg of this.messages) {
          if (this.stopped) {
            // Pulled but not started: hand it back now rather than after the ack wait.
            msg.nak()
            continue
          }
          this.receive(msg)
        }
      } catch (err) {
        if (this.stopped) break
        this.o.logger.warn({ err, consumer: this.o.durable }, 'consumer interrupted; retrying')
        await this.sleep(1000).catch(() => undefined)
      }
    }
  }

  /** Creates the durable consumer, or brings an existing one to the configured ack wait and limits. */
  private async ensureDurable(): Promise<void> {
    const { jsm } = await this.o.bus.ready()
    const wanted = {
      ack_wait: nanos(this.o.ackWaitMs),
      max_ack_pending: this.o.maxAckPending,
    }
    const existing = await jsm.consumers.info(this.o.bus.stream, this.o.durable).catch(() => undefined)
    if (!existing) {
      await jsm.consumers
        .add(this.o.bus.stream, {
          durable_name: this.o.durable,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          filter_subject: this.filter(),
          ...wanted,
        })
        .catch(async e => {
          // created at the same moment by another instance
          if (!(await jsm.consumers.info(this.o.bus.stream, this.o.durable).catch(() => undefined))) throw e
        })
      return
    }
    if (existing.config.ack_wait !== wanted.ack_wait || existing.config.max_ack_pending !== wanted.max_ack_pending)
      await jsm.consumers.update(this.o.bus.stream, this.o.durable, wanted)
  }

  private receive(msg: JsMsg): void {
    const seq = msg.seq
    const held = this.inHand.get(seq)
    if (held) {
      // Redelivered while still in hand (a heartbeat came late): keep one, answer on the newest delivery.
      held.msg = msg
      return
    }
    let event: EventEnvelope
    try {
      event = parseEnvelope(msg.data)
    } catch (err) {
      this.o.logger.error({ err, subject: msg.subject, seq }, 'unreadable event sent to dead letters')
      this.track(this.deadLetter(msg, undefined, err).catch(() => undefined))
      return
    }
    const key = this.keyOf(event)
    const delivery = { dseq: msg.info.deliverySequence, first: msg.info.deliveryCount === 1 }
    if (this.ignored(event)) {
      // Nothing to apply, so nothing to order or record: settled as it arrives.
      this.order?.note(seq, event.id, key, { settled: true, delivery })
      msg.ack()
      return
    }
    let finish!: () => void
    const done = new Promise<void>(r => (finish = r))
    const entry: InHand = { msg, seq, event, key, done, finish }
    this.inHand.set(seq, entry)
    this.order?.note(seq, event.id, key, { delivery })
    this.track(
      this.process(entry)
        .catch(err => {
          if (!(err instanceof Stopped)) this.o.logger.error({ err, seq }, 'event handling failed unexpectedly')
          entry.msg.nak()
        })
        .finally(() => {
          this.inHand.delete(seq)
          finish()
        }),
    )
  }

  private track(p: Promise<void>): void {
    this.tasks.add(p)
    void p.finally(() => this.tasks.delete(p))
  }

  /** A malformed payload must not stop the consumer: it fails in the handler and dead-letters like any other. */
  private keyOf(event: EventEnvelope): string {
    try {
      return this.o.keyOf?.(event) ?? event.aggregateId
    } catch {
      return event.aggregateId
    }
  }

  /** An event of a type the handler does nothing with. */
  private ignored(event: EventEnvelope): boolean {
    return this.o.handles !== undefined && !this.o.handles(event.type)
  }

  private beat(): void {
    for (const entry of this.inHand.values()) {
      try {
        entry.msg.working()
      } catch {
        // disconnected: JetStream redelivers after the ack wait, and the copy is kept as one (receive)
      }
    }
  }

  /** Waits for the event's turn, applies it (retrying), then acks it; or dead-letters it. */
  private async process(entry: InHand): Promise<void> {
    const log = this.o.logger.child({ eventId: entry.event.id, type: entry.event.type, seq: entry.seq })
    await this.awaitTurn(entry)
    if (await this.inBatch(entry)) {
      this.resumed(log)
      this.order?.settle(entry.seq)
      entry.msg.ack()
      return
    }
    let failures = 0
    for (let attempt = 1; ; attempt++) {
      if (this.stopped) throw new Stopped()
      let error: unknown
      await this.acquireSlot()
      entry.attemptStarted = Date.now()
      try {
        await this.o.handle(entry.event, { seq: entry.seq })
        // Recorded even when the handler had nothing to do, so a later event of the key stops waiting
        // (by the handler itself, in its transaction, when it says so).
        if (!this.o.recordsApplied) await this.o.ledger?.record(this.o.durable, entry.event.id, 'applied')
      } catch (err) {
        error = err ?? new Error('handler failed')
      } finally {
        entry.attemptStarted = undefined
        this.releaseSlot()
      }
      if (error === undefined) {
        this.resumed(log)
        this.order?.settle(entry.seq)
        entry.msg.ack()
        return
      }
      if (isOutage(error)) {
        this.pausedBy(log, error)
        await this.sleep(this.outageDelay(attempt))
        continue
      }
      failures++
      if (failures >= this.o.maxAttempts) {
        log.error({ err: error, attempt: failures }, 'event failed on its last attempt; sent to dead letters')
        await this.deadLetter(entry.msg, entry, error)
        return
      }
      const delay = this.o.backoffMs[Math.min(failures - 1, this.o.backoffMs.length - 1)] ?? 1000
      log.warn({ err: error, attempt: failures, retryInMs: delay }, 'event failed; retrying')
      await this.sleep(delay)
    }
  }

  /**
   * Offers the event to the next batch: events whose turn comes while a batch is being applied, or
   * in the same turn of the event loop, are applied together (one transaction, one commit). False
   * when it is to be applied on its own: no batch handler, alone, or the batch failed.
   */
  private inBatch(entry: InHand): Promise<boolean> {
    if (!this.o.handleBatch || !this.o.recordsApplied || this.stopped) return Promise.resolve(false)
    return new Promise(applied => {
      const now = performance.now()
      this.dense = now - this.lastReadyAt < (this.o.batchLingerMs ?? 0)
      this.lastReadyAt = now
      this.ready.push({ entry, applied })
      this.nextBatch()
    })
  }

  private nextBatch(): void {
    if (this.batching || !this.ready.length) return
    this.batching = true
    const apply = () => {
      void this.applyBatch().finally(() => {
        this.batching = false
        this.nextBatch()
      })
    }
    // Alone while others come close behind: wait a moment for them. Events that piled up while a
    // batch was applied have waited already, and one that comes alone goes at once.
    if (this.dense && this.ready.length === 1) setTimeout(apply, this.o.batchLingerMs)
    else setImmediate(apply)
  }

  private async applyBatch(): Promise<void> {
    const batch = this.ready.splice(0, this.o.batchMax ?? 32)
    if (batch.length === 1 || this.stopped) {
      for (const b of batch) b.applied(false)
      return
    }
    let ok = false
    await this.acquireSlot()
    const started = Date.now()
    for (const b of batch) b.entry.attemptStarted = started
    try {
      await this.o.handleBatch?.(batch.map(b => ({ event: b.entry.event, position: { seq: b.entry.seq } })))
      ok = true
    } catch (err) {
      // Each is applied again on its own, where an outage pauses and a failure is retried or dead-lettered.
      this.o.logger.debug({ err, events: batch.length }, 'batch not applied; applying its events one by one')
    } finally {
      for (const b of batch) b.entry.attemptStarted = undefined
      this.releaseSlot()
    }
    for (const b of batch) b.applied(ok)
  }

  /** Capped exponential backoff with jitter while something is down. */
  private outageDelay(attempt: number): number {
    const base = this.o.backoffMs[0] || 100
    const capped = Math.min(this.o.outageBackoffMaxMs, base * 2 ** Math.min(attempt - 1, 20))
    return Math.round(capped * (0.75 + Math.random() * 0.25))
  }

  private pausedBy(log: Logger, err: unknown): void {
    if (this.outageSince !== undefined) return
    this.outageSince = Date.now()
    log.warn({ err, consumer: this.o.durable }, 'consumer paused: a database or service it needs is unavailable')
  }

  private resumed(log: Logger): void {
    if (this.outageSince === undefined) return
    log.info({ consumer: this.o.durable, pausedMs: Date.now() - this.outageSince }, 'consumer resumed')
    this.outageSince = undefined
  }

  /**
   * Waits until no earlier event of the same key is unsettled: first those this instance holds
   * (their completion), then, with a ledger, those other instances hold (polling the ledger, with
   * the ack floor read again each time).
   */
  private async awaitTurn(entry: InHand): Promise<void> {
    let pause = 10
    let attempt = 0
    for (;;) {
      const local = [...this.inHand.values()].filter(e => e.key === entry.key && e.seq < entry.seq)
      if (local.length) {
        await Promise.all(local.map(e => e.done))
        continue
      }
      if (!this.order || !this.o.ledger) return
      try {
        const earlier = await this.order.earlier(entry.key, entry.seq)
        if (!earlier.length) return
        const settled = await this.o.ledger.settled(this.o.durable, earlier)
        if (earlier.every(id => settled.has(id))) return
      } catch (err) {
        if (!isOutage(err) && !String(err).includes('TIMEOUT')) throw err
        this.pausedBy(this.o.logger, err)
        await this.sleep(this.outageDelay(++attempt))
        continue
      }
      await this.sleep(pause)
      pause = Math.min(pause * 2, this.o.orderPollMaxMs)
      await this.order.refreshFloor(true).catch(() => undefined)
    }
  }

  private async acquireSlot(): Promise<void> {
    while (this.running >= this.o.concurrency) await new Promise<void>(r => this.slotWaiters.push(r))
    this.running++
  }

  private releaseSlot(): void {
    this.running--
    this.slotWaiters.shift()?.()
  }

  /** Sleeps, or throws Stopped at once when the consumer stops. */
  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.reject(new Stopped())
    return new Promise((resolve, reject) => {
      const wake = () => {
        clearTimeout(timer)
        reject(new Stopped())
      }
      const timer = setTimeout(() => {
        this.wakeOnStop.delete(wake)
        resolve()
      }, ms)
      this.wakeOnStop.add(wake)
    })
  }

  /**
   * Publishes the event to the dead-letter subject, records it as dead (so later events of its key
   * go on), then terminates it. A bare `term()`: nats-server 2.9 ignores `term(reason)` and would
   * deliver the event again after the ack wait.
   */
  private async deadLetter(msg: JsMsg, entry: InHand | undefined, err: unknown): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const { js } = await this.o.bus.ready()
        await js.publish(deadLetterSubject(this.o.bus.stream, this.o.durable), msg.data, {
          headers: deadLetterHeaders(msg, this.o.durable, err),
          msgID: `${this.o.durable}:${msg.seq}`,
        })
        if (entry) await this.o.ledger?.record(this.o.durable, entry.event.id, 'dead')
        if (entry) this.order?.settle(entry.seq)
        msg.term()
        return
      } catch (e) {
        this.o.logger.error({ err: e }, 'could not dead-letter an event yet; retrying')
        await this.sleep(this.outageDelay(attempt))
      }
    }
  }

  /** Liveness: a reason while one attempt has been running too long, null otherwise. */
  stalled(): string | null {
    const now = Date.now()
    for (const e of this.inHand.values()) {
      if (e.attemptStarted !== undefined && now - e.attemptStarted > this.o.stallAfterMs)
        return `an event has been in the handler for ${now - e.attemptStarted} ms`
    }
    return null
  }

  /** Stops taking events, hands back those waiting, finishes those in the handler (acking them), then returns. */
  async stop(): Promise<void> {
    this.stopped = true
    await this.messages?.close().catch(() => undefined)
    for (const wake of this.wakeOnStop) wake()
    this.wakeOnStop.clear()
    for (const w of this.slotWaiters.splice(0)) w()
    await Promise.allSettled([...this.tasks])
    clearInterval(this.heartbeat)
    await this.loop?.catch(() => undefined)
  }
}

function deadLetterHeaders(msg: JsMsg, consumer: string, err: unknown) {
  const h = natsHeaders()
  h.set('Gdmarket-Original-Subject', msg.subject)
  h.set('Gdmarket-Original-Seq', String(msg.seq))
  h.set('Gdmarket-Consumer', consumer)
  h.set('Gdmarket-Error', String(err instanceof Error ? err.message : err).slice(0, 500))
  h.set('Gdmarket-Deliveries', String(msg.info.deliveryCount))
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
