// The router's source of ItemInfo changes: the projections service publishes the full new ItemInfo
// (as the GraphQL type shows it) on core NATS after each commit, on
// `<stream lowercased>-projections.ItemInfoChanged.<itemId>` (projections/src/notify.ts). Every
// router instance subscribes for itself (no queue group): each serves its own sockets.
// Core NATS is at most once; what is published while this router is disconnected is lost, and
// subscribers see a gap in `version` (see docs/subscriptions.md).
import type { EventBus } from '@gdmarket/platform/bus'
import { subjectPrefix } from '@gdmarket/platform/events'
import type { Logger } from '@gdmarket/platform/logger'

type NatsConnection = Awaited<ReturnType<EventBus['connection']>>
type NatsSubscription = ReturnType<NatsConnection['subscribe']>

/** One ItemInfo change: the payload as the projections subgraph would answer it. */
export interface ItemInfoEvent {
  itemId: string
  version: number
  payload: Record<string, unknown>
}

export const itemInfoChangedSubject = (stream: string, itemId = '*'): string => `${subjectPrefix(stream)}-projections.ItemInfoChanged.${itemId}`

/** Items whose last version is remembered for dropping duplicates; the oldest-touched is forgotten first. */
const DEFAULT_TRACKED_ITEMS = 100_000

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
  private subscription: NatsSubscription | undefined
  private closed = false

  constructor(
    private readonly bus: EventBus,
    private readonly deliver: (event: ItemInfoEvent) => void,
    private readonly logger: Logger,
    private readonly trackedItems = DEFAULT_TRACKED_ITEMS,
  ) {}

  /** Subscribes once NATS is there; nats.js restores the subscription after every reconnect. */
  start(): void {
    this.bus
      .connection()
      .then((nc) => {
        if (this.closed) return
        const subject = itemInfoChangedSubject(this.bus.stream)
        this.subscription = nc.subscribe(subject, { callback: (err, msg) => (err ? this.logger.warn({ err }, 'ItemInfoChanged subscription error') : this.accept(msg.data)) })
        this.logger.info({ subject }, 'listening for ItemInfo changes')
        void this.watch(nc)
      })
      .catch((err: unknown) => this.logger.error({ err }, 'cannot listen for ItemInfo changes'))
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

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') this.logger.warn('NATS disconnected: ItemInfo changes published meanwhile are lost (clients see a version gap)')
      if (status.type === 'reconnect') this.logger.info('NATS reconnected: ItemInfo changes flow again')
    }
  }

  close(): void {
    this.closed = true
    this.subscription?.unsubscribe()
  }
}
