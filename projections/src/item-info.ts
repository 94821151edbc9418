// The ItemInfo read model kept from the event stream. Each event is applied at most once
// (markApplied) in one transaction with the row it changes; what it changes is decided by the
// per-event-type functions in item-info-rules.ts (version-guarded, so an older event never
// overwrites a newer one). Each change is also written to the change feed's outbox in the same
// transaction, so the itemInfoChanged subscriptions get every change, once, in version order.
import type { EventEnvelope } from '@gdmarket/platform/events'
import type { BatchHandler, EventHandlers, EventPosition } from '@gdmarket/platform/consumer'
import type { Kick } from '@gdmarket/platform/outbox'
import {
  canChange,
  changingTypes,
  decide,
  itemIdOf,
  viewOf,
  type ItemInfoRow,
  type ItemInfoView,
  type ProjectedEvents,
} from './item-info-rules.js'
import {
  changeRow,
  ConcurrentChange,
  maxCursor,
  readBatchStart,
  writeBatch,
  type BatchStart,
  type ProjectionsDb,
} from './store.js'

/** The durable consumer's name, and the name its ProcessedEvent rows are kept under. */
export const PROJECTIONS_CONSUMER = 'projections'

export interface ProjectionDeps {
  db: ProjectionsDb
  /** Where changes are announced; a rebuild announces nothing (it recreates rows as they were). */
  changeFeed?: { stream: string; kick: Kick; position: FeedPosition }
  /** The rows this process last read or wrote; a rebuild reads every row. */
  recent?: RecentRows
}

/**
 * The rows this process last read or wrote, by item (the least recently used forgotten past
 * `size`): an item's next event starts from its row here instead of reading it. Safe beside other
 * writers (another replica, a rebuild): the write holds only while the row is as it was (version
 * and stream position) and its events are not applied yet; otherwise it changes nothing, the rows
 * are forgotten and the batch starts again from the database.
 */
export class RecentRows {
  private readonly rows = new Map<string, ItemInfoRow>()

  constructor(private readonly size: number) {}

  get(itemId: string): ItemInfoRow | undefined {
    const row = this.rows.get(itemId)
    if (row) this.remember(row)
    return row
  }

  remember(row: ItemInfoRow): void {
    if (this.size === 0) return
    this.rows.delete(row.itemId)
    this.rows.set(row.itemId, row)
    if (this.rows.size > this.size) this.rows.delete(this.rows.keys().next().value as string)
  }

  forget(itemIds: Iterable<string>): void {
    for (const id of itemIds) this.rows.delete(id)
  }
}

/**
 * The last change feed sequence this process knows of. A change's own sequence exists only once
 * it is published, after its commit; until the relay writes it, the row carries this one, which
 * is below it, so a client resuming from it gets that change again rather than missing it.
 */
export class FeedPosition {
  private known = 0n
  private loaded: Promise<void> | undefined

  constructor(private readonly db: ProjectionsDb) {}

  async current(): Promise<bigint> {
    this.loaded ??= maxCursor(this.db).then(
      max => this.advance(max),
      err => {
        this.loaded = undefined
        throw err
      },
    )
    await this.loaded
    return this.known
  }

  advance(seq: bigint | number): void {
    const s = BigInt(seq)
    if (s > this.known) this.known = s
  }
}

/**
 * Applies one event at stream sequence `seq`; returns the ItemInfo it changed, or null when it
 * changed nothing (already applied, older than what is shown, not about a shown reservation, or a
 * payment event). Throws on a database failure or a concurrent write, so the event is retried.
 */
export async function applyEvent(
  deps: ProjectionDeps,
  event: EventEnvelope,
  seq: number,
): Promise<ItemInfoView | null> {
  const [changed] = await applyEvents(deps, [{ event, position: { seq } }])
  return changed ?? null
}

/**
 * Applies events of different items (all or none), in the order given; each as applyEvent does.
 * Returns what each changed. A batch costs one or two statements whatever its size, with no
 * transaction: when its items' rows are not all in memory (RecentRows), one reads them and which
 * of its events were applied before; the other records the rest applied and writes the rows they
 * decided and the change feed's rows, or nothing if anything changed meanwhile. Then, from memory,
 * the batch starts again from the database; from the database, it throws, and the consumer tries again.
 */
export async function applyEvents(
  deps: ProjectionDeps,
  batch: { event: EventEnvelope; position: EventPosition }[],
): Promise<(ItemInfoView | null)[]> {
  const todo = batch.filter(({ event }) => itemIdOf(event) && canChange(event.type))
  if (!todo.length) return batch.map(() => null)
  const itemIds = [...new Set(todo.map(t => itemIdOf(t.event)!))]
  const known = itemIds.map(id => deps.recent?.get(id))
  if (known.every(row => row !== undefined)) {
    const rows = new Map(known.map(row => [row.itemId, row]))
    try {
      return await applyFrom(deps, batch, todo, { rows, appliedBefore: new Set() }, true)
    } catch (e) {
      deps.recent?.forget(itemIds)
      if (!(e instanceof ConcurrentChange)) throw e
    }
  }
  const start = await readBatchStart(
    deps.db.statements,
    PROJECTIONS_CONSUMER,
    itemIds,
    todo.map(t => t.event.id),
  )
  try {
    return await applyFrom(deps, batch, todo, start)
  } catch (e) {
    deps.recent?.forget(itemIds)
    throw e
  }
}

type Applying = { event: EventEnvelope; position: EventPosition }[]

/**
 * The batch decided from `start` and written; the rows it wrote (or started from) kept in memory.
 * Rows from memory may be stale (another instance wrote since): those it decides to leave alone are
 * checked too, or an event decided against a stale row ("nothing to do") would be recorded applied.
 */
async function applyFrom(
  deps: ProjectionDeps,
  batch: Applying,
  todo: Applying,
  start: BatchStart,
  fromMemory = false,
): Promise<(ItemInfoView | null)[]> {
  const position = deps.changeFeed ? await deps.changeFeed.position.current() : 0n
  const mine = todo.filter(t => !start.appliedBefore.has(t.event.id))
  const { views, writes } = decideAll(start.rows, mine, position)
  const shown = [...views.values()].filter(v => v !== null)
  const changes = deps.changeFeed ? shown.map(view => changeRow(deps.changeFeed!.stream, view)) : []
  const written = new Set(writes.map(w => w.next.itemId))
  const unchanged = fromMemory ? [...start.rows.values()].filter(row => !written.has(row.itemId)) : []
  if (mine.length)
    await writeBatch(deps.db.statements, PROJECTIONS_CONSUMER, {
      eventIds: mine.map(t => t.event.id),
      writes,
      changes,
      unchanged,
    })
  for (const row of start.rows.values()) deps.recent?.remember(row)
  for (const { next } of writes) deps.recent?.remember(next)
  if (changes.length) deps.changeFeed?.kick(changes)
  return batch.map(({ event }) => views.get(event) ?? null)
}

/**
 * Each event's decision against the row as it stands after the ones before it (an item's events
 * in one batch apply one after another), and per item the row to write over the one read.
 */
function decideAll(
  read: Map<string, ItemInfoRow>,
  events: { event: EventEnvelope; position: EventPosition }[],
  position: bigint,
): { views: Map<EventEnvelope, ItemInfoView | null>; writes: { read: ItemInfoRow | null; next: ItemInfoRow }[] } {
  const views = new Map<EventEnvelope, ItemInfoView | null>()
  const latest = new Map<string, ItemInfoRow>()
  for (const { event, position: at } of events) {
    const itemId = itemIdOf(event)!
    const decided = decide(latest.get(itemId) ?? read.get(itemId) ?? null, event, at.seq)
    if (!decided) {
      views.set(event, null)
      continue
    }
    const row = decided.changed ? { ...decided.row, cursor: maxOf(decided.row.cursor, position) } : decided.row
    latest.set(itemId, row)
    // Bookkeeping-only writes (a newer source version that shows nothing new) stay silent.
    views.set(event, decided.changed ? viewOf(row) : null)
  }
  const writes = [...latest].map(([itemId, next]) => ({ read: read.get(itemId) ?? null, next }))
  return { views, writes }
}

const maxOf = (a: bigint, b: bigint): bigint => (a > b ? a : b)

/** The consumer's ordering key: one item's events, item and reservation alike, apply in stream order. */
export const orderingKey = (event: EventEnvelope): string => itemIdOf(event) ?? event.aggregateId

/** The consumer's handler table: every event type that can change an ItemInfo, each applied by applyEvent. */
export function projectionHandlers(deps: ProjectionDeps): EventHandlers<ProjectedEvents> {
  const project = async (event: EventEnvelope, { seq }: { seq: number }) => {
    await applyEvent(deps, event, seq)
  }
  return Object.fromEntries(changingTypes.map(type => [type, project]))
}

/** Several events of different items in one transaction (the consumer's batches). */
export const projectionBatch =
  (deps: ProjectionDeps): BatchHandler =>
  async batch => {
    await applyEvents(deps, batch)
  }
