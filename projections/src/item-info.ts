// The ItemInfo read model kept from the event stream. Each event is applied at most once
// (markApplied) in one transaction with the row it changes; what it changes is decided by the
// per-event-type functions in item-info-rules.ts (version-guarded, so an older event never
// overwrites a newer one). Each change is also written to the change feed's outbox in the same
// transaction, so the itemInfoChanged subscriptions get every change, once, in version order.
import type { EventEnvelope } from '@gdmarket/platform/events'
import { markApplied, type BatchHandler, type EventHandlers, type EventPosition } from '@gdmarket/platform/consumer'
import type { Kick, OutboxRow } from '@gdmarket/platform/outbox'
import {
  canChange,
  changingTypes,
  decide,
  itemIdOf,
  viewOf,
  type ItemInfoView,
  type ProjectedEvents,
} from './item-info-rules.js'
import { findInfo, maxCursor, recordChange, writeInfo, type ProjectionsDb, type ProjectionsTx } from './store.js'

/** The durable consumer's name, and the name its ProcessedEvent rows are kept under. */
export const PROJECTIONS_CONSUMER = 'projections'

export interface ProjectionDeps {
  db: ProjectionsDb
  /** Where changes are announced; a rebuild announces nothing (it recreates rows as they were). */
  changeFeed?: { stream: string; kick: Kick; position: FeedPosition }
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
 * Applies events of different items in one transaction (all or none), in the order given; each as
 * applyEvent does. Returns what each changed.
 */
export async function applyEvents(
  deps: ProjectionDeps,
  batch: { event: EventEnvelope; position: EventPosition }[],
): Promise<(ItemInfoView | null)[]> {
  const todo = batch.filter(({ event }) => itemIdOf(event) && canChange(event.type))
  if (!todo.length) return batch.map(() => null)
  const position = deps.changeFeed ? await deps.changeFeed.position.current() : 0n
  const recorded: OutboxRow[] = []
  const changed = await deps.db.$transaction(async tx => {
    const views = new Map<EventEnvelope, ItemInfoView | null>()
    for (const { event, position: at } of todo) {
      const view = await applyIn(tx, event, at.seq, position)
      views.set(event, view)
      if (view && deps.changeFeed) recorded.push(await recordChange(tx, deps.changeFeed.stream, view))
    }
    return views
  })
  if (recorded.length) deps.changeFeed?.kick(recorded)
  return batch.map(({ event }) => changed.get(event) ?? null)
}

/** One event in the transaction: the ItemInfo it changed (shown fields), or null. */
async function applyIn(
  tx: ProjectionsTx,
  event: EventEnvelope,
  seq: number,
  position: bigint,
): Promise<ItemInfoView | null> {
  const itemId = itemIdOf(event)
  if (!itemId || !(await markApplied(tx, PROJECTIONS_CONSUMER, event.id))) return null
  const current = await findInfo(tx, itemId)
  const decided = decide(current, event, seq)
  if (!decided) return null
  const outcome = decided.changed
    ? { ...decided, row: { ...decided.row, cursor: maxOf(decided.row.cursor, position) } }
    : decided
  await writeInfo(tx, current, outcome.row)
  // Bookkeeping-only writes (a newer source version that shows nothing new) stay silent.
  return outcome.changed ? viewOf(outcome.row) : null
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
