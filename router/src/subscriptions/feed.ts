// The router's source of ItemInfo changes: the projections service writes the full new ItemInfo
// (as the GraphQL type shows it) to an outbox in the transaction that changed it, and its relay
// publishes it to the change feed stream (`<stream>_ITEMINFO`, subjects
// `<prefix>-projections.ItemInfoChanged.<itemId>`). Every router instance reads the feed with its
// own ordered consumer from "now" (no queue group, nothing sticky): after a NATS disconnect the
// consumer resumes right after the last change it saw, so no change is skipped while the feed
// still holds it (ITEMINFO_FEED_MAX_AGE_MS).
import { DeliverPolicy, type ConsumerMessages } from 'nats'
import type { EventBus } from '@gdmarket/platform/bus'
import { itemInfoFeedStream } from '@gdmarket/contracts/item-info'
import type { Logger } from '@gdmarket/platform/logger'

/** One ItemInfo change: the payload as the projections subgraph would answer it. */
export interface ItemInfoEvent {
  itemId: string
  version: number
  payload: Record<string, unknown>
}

/** Items whose last version is remembered for dropping duplicates; the oldest-touched is forgotten first. */
const DEFAULT_TRACKED_ITEMS = 100_000
/** Wait before asking again for a feed that does not exist yet (projections not started). */
const RETRY_MS = 1000

export function parseItemInfoEvent(data: Uint8Array): ItemInfoEvent | null {
  try {
    const payload: unknown = JSON.parse(new TextDecoder().decode(data))
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return null
    const { itemId, version } = payload as Record<string, unknown>
    if (typeof itemId !== 'string' || typeof version !== 'number') return null
    return { itemId, version, payload: payload as Record<string, unknown> }
  } catch {
    return null
  }
}

export class ItemInfoFeed {
  private readonly lastVersion = new Map<string, number>()
  private messages: ConsumerMessages | undefined
  private closed = false

  constructor(
    private readonly bus: EventBus,
    private readonly deliver: (event: ItemInfoEvent) => void,
    private readonly logger: Logger,
    private readonly trackedItems = DEFAULT_TRACKED_ITEMS,
  ) {}

  start(): void {
    void this.run()
  }

  /** Reads the feed from now on; nats.js's ordered consumer recreates itself after disconnects. */
  private async run(): Promise<void> {
    const stream = itemInfoFeedStream(this.bus.stream)
    while (!this.closed) {
      try {
        const nc = await this.bus.connection()
        const consumer = await nc.jetstream().consumers.get(stream, { deliver_policy: DeliverPolicy.New })
        this.messages = await consumer.consume()
        this.logger.info({ stream }, 'listening for ItemInfo changes')
        for await (const msg of this.messages) this.accept(msg.data)
      } catch (err) {
        if (this.closed) break
        this.logger.warn({ err, stream }, 'ItemInfo change feed not available yet; retrying')
        await new Promise(r => setTimeout(r, RETRY_MS))
      }
    }
  }

  /** Applies the per-item version guard: each version is delivered once, never after a newer one. */
  accept(data: Uint8Array): void {
    const event = parseItemInfoEvent(data)
    if (!event) return void this.logger.warn('ignored a malformed ItemInfoChanged message')
    const last = this.lastVersion.get(event.itemId)
    if (last !== undefined && event.version <= last) return
    // Re-inserting keeps the Map in least-recently-changed order, so the bound evicts cold items.
    this.lastVersion.delete(event.itemId)
    this.lastVersion.set(event.itemId, event.version)
    if (this.lastVersion.size > this.trackedItems) {
      const oldest = this.lastVersion.keys().next()
      if (!oldest.done) this.lastVersion.delete(oldest.value)
    }
    this.deliver(event)
  }

  close(): void {
    this.closed = true
    void this.messages?.close()
  }
}
