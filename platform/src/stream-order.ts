// Order across replicas. NATS 2.9 has no partitioned or pinned consumers: N instances sharing a
// durable consumer each get some of one aggregate's events. Before an instance applies an event
// at stream sequence S with key K, it asks "is there an earlier event of K that is not settled
// (applied or dead-lettered)?". The stream answers which earlier events of K exist: everything at
// or below the consumer's ack floor is settled; above it, this instance reads the stream (once per
// message, by `next_by_subj` so other subjects are skipped) and remembers each message's key.
// The ledger (the database the handlers write their ProcessedEvent rows to) answers which of them
// are settled. Waiting is safe from deadlock: the oldest unsettled event has nothing before it.
import type { ConsumerInfo, JetStreamManager } from 'nats'
import { parseEnvelope, type EventEnvelope } from './events.js'

/** Where a consumer's outcomes are kept: applied (the handler's markApplied, or after a handler that ignored the event) or dead. */
export interface ConsumerLedger {
  /** Of `eventIds`, those `consumer` has applied or dead-lettered. */
  settled(consumer: string, eventIds: string[]): Promise<Set<string>>
  /** Records an outcome; recording one twice is harmless. */
  record(consumer: string, eventId: string, outcome: 'applied' | 'dead'): Promise<void>
}

/** The name dead-lettered events are recorded under, so the handler's markApplied still applies a replay. */
export const deadLedgerName = (consumer: string) => `${consumer}:dead`

/** A ProcessedEvent table (every consumer's database has one) as a ledger. */
export interface ProcessedEventTable {
  findMany(args: {
    where: { consumer: { in: string[] }; eventId: { in: string[] } }
    select: { eventId: true }
  }): Promise<{ eventId: string }[]>
  createMany(args: { data: { consumer: string; eventId: string }[]; skipDuplicates: true }): Promise<unknown>
}

export function processedEventLedger(table: ProcessedEventTable): ConsumerLedger {
  return {
    async settled(consumer, eventIds) {
      if (!eventIds.length) return new Set()
      const rows = await table.findMany({
        where: { consumer: { in: [consumer, deadLedgerName(consumer)] }, eventId: { in: eventIds } },
        select: { eventId: true },
      })
      return new Set(rows.map(r => r.eventId))
    },
    async record(consumer, eventId, outcome) {
      const name = outcome === 'dead' ? deadLedgerName(consumer) : consumer
      await table.createMany({ data: [{ consumer: name, eventId }], skipDuplicates: true })
    },
  }
}

/** Events remembered above the floor before the settled ones are dropped. */
const KNOWN_MAX = 1024

interface Known {
  id: string
  key: string
  /** Settled by this instance: no need to ask the ledger. */
  settled: boolean
}

export interface StreamOrderOptions {
  jsm: () => Promise<JetStreamManager>
  stream: string
  durable: string
  /** The consumer's filter subject. */
  filter: string
  keyOf: (event: EventEnvelope) => string
  /** Events settled on arrival (a type the handler does nothing with): nothing waits for them. */
  ignored?: (event: EventEnvelope) => boolean
  /** How stale the ack floor may be before it is read again. */
  floorMaxAgeMs: number
}

/** One instance's view of which events of the stream (above the ack floor) belong to which key. */
export class StreamOrder {
  private readonly known = new Map<number, Known>()
  /** The unsettled ones among `known`, by key: a turn looks at its own key's events only. */
  private readonly unsettledByKey = new Map<string, Map<number, string>>()
  /**
   * Stretches of the stream this instance holds every message of the filter of: consecutive first
   * deliveries (delivery sequence n, n+1) leave no message of the filter between them, since the
   * consumer hands out new messages in stream order and any other delivery would take a number.
   * A scan skips them instead of reading the stream message by message.
   */
  private runs: { start: number; end: number; dseq: number }[] = []
  private scannedUpTo = 0
  private floor = 0
  private floorReadAt = 0
  private reads = 0
  private scanning: Promise<void> = Promise.resolve()

  constructor(private readonly o: StreamOrderOptions) {}

  /**
   * A message this instance received; `delivery` (its consumer delivery sequence, whether it is the
   * first delivery) extends the stretch of the stream known to be complete here.
   */
  note(
    seq: number,
    id: string,
    key: string,
    o: { settled?: boolean; delivery?: { dseq: number; first: boolean } } = {},
  ): void {
    if (seq > this.floor && !this.known.has(seq)) {
      const settled = o.settled ?? false
      this.known.set(seq, { id, key, settled })
      if (!settled) this.keyed(key).set(seq, id)
    } else if (o.settled) this.settle(seq)
    if (this.known.size > KNOWN_MAX) this.forgetSettled()
    const d = o.delivery
    if (!d) return
    const last = this.runs.at(-1)
    if (d.first && last && d.dseq === last.dseq + 1 && seq > last.end) {
      last.end = seq
      last.dseq = d.dseq
    } else if (d.first) this.runs.push({ start: seq, end: seq, dseq: d.dseq })
    else if (last) last.dseq = -1 // a redelivery: the next first delivery starts a new stretch
    if (this.runs.length > 64) this.runs.shift()
  }

  /**
   * Settled events never hold a turn up; without floor reads (an instance holding every delivery
   * skips them) nothing else would drop them. One learnt again later (a redelivery, a scan) is
   * taken for unsettled until the ledger says otherwise: slower, never out of order.
   */
  private forgetSettled(): void {
    for (const [s, k] of this.known) if (k.settled) this.known.delete(s)
  }

  settle(seq: number): void {
    const k = this.known.get(seq)
    if (!k || k.settled) return
    k.settled = true
    this.unkey(seq, k.key)
  }

  private keyed(key: string): Map<number, string> {
    let events = this.unsettledByKey.get(key)
    if (!events) {
      events = new Map()
      this.unsettledByKey.set(key, events)
    }
    return events
  }

  private unkey(seq: number, key: string): void {
    const events = this.unsettledByKey.get(key)
    events?.delete(seq)
    if (events?.size === 0) this.unsettledByKey.delete(key)
  }

  /**
   * Events of `key` before `seq`, above the ack floor, not settled here: their ids.
   *
   * The ack floor is read (a JetStream request) only when it can change the answer. A floor read
   * earlier is at or below today's, so the answer from it holds every id today's would, and more
   * only for events settled meanwhile: when it names none, no newer floor could name one. The
   * floor matters when the stream must be read (it bounds the scan: a fresh instance would read
   * from the first message) and when some id is named (a newer floor may settle it, sparing the
   * ledger). An instance holding every earlier delivery (consecutive first deliveries) reads
   * nothing, neither stream nor floor, to learn that it is the event's turn.
   */
  async earlier(key: string, seq: number): Promise<string[]> {
    if (!this.floorReadAt || !this.held(seq - 1)) await this.refreshFloor(false)
    await this.scanTo(seq - 1)
    let ids = this.unsettled(key, seq)
    if (ids.length && Date.now() - this.floorReadAt >= this.o.floorMaxAgeMs) {
      await this.refreshFloor(false)
      ids = this.unsettled(key, seq)
    }
    return ids
  }

  /** How many times the ack floor was read (tests check what a turn costs). */
  get floorReads(): number {
    return this.reads
  }

  private unsettled(key: string, seq: number): string[] {
    const ids: string[] = []
    for (const [s, id] of this.unsettledByKey.get(key) ?? []) if (s < seq && s > this.floor) ids.push(id)
    return ids
  }

  /** True when every message of the filter up to `upTo` is known here without reading the stream. */
  private held(upTo: number): boolean {
    let from = Math.max(this.scannedUpTo, this.floor) + 1
    while (from <= upTo) {
      const run = this.runs.find(r => from >= r.start && from <= r.end)
      if (!run) return false
      from = run.end + 1
    }
    return true
  }

  /** Reads the ack floor again (also after waiting: events at or below it are settled whoever held them). */
  async refreshFloor(force: boolean): Promise<void> {
    if (!force && Date.now() - this.floorReadAt < this.o.floorMaxAgeMs) return
    const jsm = await this.o.jsm()
    const info: ConsumerInfo = await jsm.consumers.info(this.o.stream, this.o.durable)
    this.reads++
    this.floorReadAt = Date.now()
    this.floor = Math.max(this.floor, info.ack_floor.stream_seq)
    for (const [s, k] of this.known)
      if (s <= this.floor) {
        this.known.delete(s)
        if (!k.settled) this.unkey(s, k.key)
      }
    this.runs = this.runs.filter(r => r.end > this.floor)
  }

  /** Learns the key of every message of the filter up to `upTo`, one stream read per message not yet seen. */
  private scanTo(upTo: number): Promise<void> {
    const next = this.scanning.then(async () => {
      let from = Math.max(this.scannedUpTo, this.floor) + 1
      if (from > upTo) return
      const jsm = await this.o.jsm()
      while (from <= upTo) {
        const run = this.runs.find(r => from >= r.start && from <= r.end)
        if (run) {
          this.scannedUpTo = Math.max(this.scannedUpTo, run.end)
          from = run.end + 1
          continue
        }
        const m = await jsm.streams
          // next_by_subj (nats-server 2.9's message get; the client's type lists it for direct get only)
          .getMessage(this.o.stream, { seq: from, next_by_subj: this.o.filter } as unknown as { seq: number })
          .catch((e: { code?: string }) => {
            if (e.code === '404') return undefined
            throw e
          })
        if (!m) {
          this.scannedUpTo = Math.max(this.scannedUpTo, upTo)
          return
        }
        try {
          const event = parseEnvelope(m.data)
          this.note(m.seq, event.id, this.o.keyOf(event), { settled: this.o.ignored?.(event) ?? false })
        } catch {
          // unreadable: it has no key, nothing waits for it
        }
        this.scannedUpTo = Math.max(this.scannedUpTo, m.seq)
        from = m.seq + 1
      }
    })
    this.scanning = next.catch(() => undefined)
    return next
  }
}
