// The router's source of ItemInfo changes: the projections service writes the full new ItemInfo
// (as the GraphQL type shows it) to an outbox in the transaction that changed it, and its relay
// publishes it to the change feed stream (`<stream>_ITEMINFO`, subjects
// `<prefix>-projections.ItemInfoChanged.<itemId>`). A change's cursor is its sequence in that
// stream: one order for every item, kept by JetStream, so "every change after cursor C" is
// exactly the stream from C + 1.
// Every router instance reads the live edge with its own ordered consumer (no queue group, nothing
// sticky): after a NATS disconnect the consumer resumes right after the last change it saw, so no
// change is skipped while the feed still holds it (ITEMINFO_FEED_MAX_AGE_MS). A replay reads the
// same stream from a client's cursor with a consumer of its own.
import { GraphQLError } from 'graphql'
import type { JetStreamClient } from 'nats'
import type { EventBus } from '@gdmarket/platform/bus'
import { itemInfoFeedStream } from '@gdmarket/contracts/item-info'
import type { Logger } from '@gdmarket/platform/logger'

/** One ItemInfo change: the payload as the projections subgraph would answer it, its cursor set. */
export interface ItemInfoEvent {
  itemId: string
  ownerId: string | null
  version: number
  /** The change's sequence in the feed stream. */
  cursor: number
  payload: Record<string, unknown>
  /** The payload without its private fields, made once per event when someone needs it. */
  publicPayload?: Record<string, unknown>
}

/** Items whose last version is remembered for dropping duplicates; the oldest-touched is forgotten first. */
const DEFAULT_TRACKED_ITEMS = 100_000
/** Wait before asking again for a feed that does not exist yet (projections not started). */
const RETRY_MS = 1000

const decoder = new TextDecoder()

export function parseItemInfoEvent(data: Uint8Array, seq: number): ItemInfoEvent | null {
  try {
    const payload: unknown = JSON.parse(decoder.decode(data))
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return null
    const fields = payload as Record<string, unknown>
    const { itemId, version, ownerId } = fields
    if (typeof itemId !== 'string' || typeof version !== 'number') return null
    // The stored cursor is where projections stood at commit; the feed position is the exact one.
    fields.cursor = String(seq)
    return { itemId, version, ownerId: typeof ownerId === 'string' ? ownerId : null, cursor: seq, payload: fields }
  } catch {
    return null
  }
}

export const cursorExpired = (cursor: number, first: number) =>
  new GraphQLError(
    `cursor ${cursor} is older than the change feed keeps (its oldest change is ${first}); query the current state and subscribe again`,
    { extensions: { code: 'CURSOR_EXPIRED' } },
  )

/** A per-item version guard: each version passes once, never after a newer one; bounded. */
export class VersionGuard {
  private readonly lastVersion = new Map<string, number>()

  constructor(private readonly trackedItems = DEFAULT_TRACKED_ITEMS) {}

  admit(event: ItemInfoEvent): boolean {
    const last = this.lastVersion.get(event.itemId)
    if (last !== undefined && event.version <= last) return false
    // Re-inserting keeps the Map in least-recently-changed order, so the bound evicts cold items.
    this.lastVersion.delete(event.itemId)
    this.lastVersion.set(event.itemId, event.version)
    if (this.lastVersion.size > this.trackedItems) {
      const oldest = this.lastVersion.keys().next()
      if (!oldest.done) this.lastVersion.delete(oldest.value)
    }
    return true
  }
}

export class ItemInfoFeed {
  private readonly guard: VersionGuard
  private messages: { close(): Promise<unknown> } | undefined
  private closed = false
  /** The last feed sequence this router has handed to its subscribers (the live edge); -1 until known. */
  lastSeq = -1
  private started: Promise<void>
  private markStarted!: () => void

  constructor(
    private readonly bus: EventBus,
    private readonly deliver: (event: ItemInfoEvent) => void,
    private readonly logger: Logger,
    trackedItems = DEFAULT_TRACKED_ITEMS,
  ) {
    this.guard = new VersionGuard(trackedItems)
    this.started = new Promise(resolve => {
      this.markStarted = resolve
    })
  }

  get stream(): string {
    return itemInfoFeedStream(this.bus.stream)
  }

  start(): void {
    void this.run()
  }

  /** Resolves once the live edge is known (the feed exists and this router reads it). */
  ready(): Promise<void> {
    return this.started
  }

  /** Reads the feed from its end; nats.js's ordered consumer recreates itself after disconnects. */
  private async run(): Promise<void> {
    const stream = this.stream
    while (!this.closed) {
      try {
        const nc = await this.bus.connection()
        if (this.lastSeq < 0) {
          const info = await (await nc.jetstreamManager()).streams.info(stream)
          this.lastSeq = info.state.last_seq
        }
        const consumer = await nc.jetstream().consumers.get(stream, { opt_start_seq: this.lastSeq + 1 })
        const messages = await consumer.consume()
        this.messages = messages
        this.markStarted()
        this.logger.info({ stream, from: this.lastSeq + 1 }, 'listening for ItemInfo changes')
        for await (const msg of messages) this.accept(msg.data, msg.seq)
      } catch (err) {
        if (this.closed) break
        this.logger.warn({ err, stream }, 'ItemInfo change feed not available yet; retrying')
        await new Promise(r => setTimeout(r, RETRY_MS))
      }
    }
  }

  /** Applies the per-item version guard: each version is delivered once, never after a newer one. */
  accept(data: Uint8Array, seq: number): void {
    if (seq <= this.lastSeq) return
    this.lastSeq = seq
    const event = parseItemInfoEvent(data, seq)
    if (!event) return void this.logger.warn('ignored a malformed ItemInfoChanged message')
    if (this.guard.admit(event)) this.deliver(event)
  }

  /** The oldest and newest sequences the feed holds now (first > last when it is empty). */
  async bounds(): Promise<{ first: number; last: number }> {
    const nc = await this.bus.connection()
    const { state } = await (await nc.jetstreamManager()).streams.info(this.stream)
    return { first: state.first_seq, last: state.last_seq }
  }

  /**
   * The feed's changes from sequence `from` on, in order, one fetched batch at a time (up to
   * `batchSize`), for one replay. `wanted` is asked before each batch whether to go on. Throws
   * CURSOR_EXPIRED when the first change it finds is later than `from` (the feed dropped what lay
   * between).
   */
  async *read(
    from: number,
    wanted: () => boolean,
    batchSize: number,
  ): AsyncGenerator<{ seq: number; event: ItemInfoEvent | null }[]> {
    const nc = await this.bus.connection()
    const js: JetStreamClient = nc.jetstream()
    const consumer = await js.consumers.get(this.stream, { opt_start_seq: from })
    let expected = from
    while (wanted()) {
      const fetched = await consumer.fetch({ max_messages: batchSize, expires: 1000 })
      let batch: { seq: number; event: ItemInfoEvent | null }[] = []
      for await (const msg of fetched) {
        if (expected === from && msg.seq > from) throw cursorExpired(from - 1, msg.seq)
        expected = msg.seq + 1
        batch.push({ seq: msg.seq, event: parseItemInfoEvent(msg.data, msg.seq) })
        // Handed on as soon as nothing more has arrived (the message in hand counts as pending),
        // so the last, partial batch of a replay does not wait for the fetch to expire.
        if (batch.length >= batchSize || fetched.getPending() <= 1) {
          yield batch
          batch = []
          if (!wanted()) return
        }
      }
      if (batch.length) yield batch
    }
  }

  close(): void {
    this.closed = true
    void this.messages?.close()
  }
}
