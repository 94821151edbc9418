// Data access for the projections database: the one module that talks to Prisma.
import { inKeyOrder } from '@gdmarket/platform/rows'
import { randomUUID } from 'node:crypto'
import { postgresClientFactory, type PostgresDatabase } from '@gdmarket/platform/database'
import { itemInfoChangedSubject } from '@gdmarket/contracts/item-info'
import { prismaOutboxStore, type OutboxRow, type OutboxStore, type PublishedRow } from '@gdmarket/platform/outbox'
import { PrismaClient, type Prisma } from '../../generated/projections/client.js'
import { newestFirst, type Page } from '@gdmarket/platform/paging'
import type { ItemInfoRow, ItemInfoView } from './item-info-rules.js'

export type ProjectionsDb = PostgresDatabase<PrismaClient>
export type ProjectionsTx = Prisma.TransactionClient

export const createProjectionsDb = postgresClientFactory(PrismaClient)

/** Another writer changed the row between our read and our write; the event is retried. */
export class ConcurrentChange extends Error {
  constructor(itemId: string) {
    super(`ItemInfo ${itemId} changed concurrently`)
    this.name = 'ConcurrentChange'
  }
}

export const findInfo = (tx: ProjectionsTx | ProjectionsDb, itemId: string): Promise<ItemInfoRow | null> =>
  tx.itemInfo.findUnique({ where: { itemId } })

/** The ItemInfos of `itemIds` that exist, by item id: one statement for a batch. */
export async function findInfos(tx: ProjectionsTx, itemIds: string[]): Promise<Map<string, ItemInfoRow>> {
  if (itemIds.length === 1) {
    const row = await findInfo(tx, itemIds[0])
    return new Map(row ? [[row.itemId, row]] : [])
  }
  const rows = await tx.itemInfo.findMany({ where: { itemId: { in: itemIds } } })
  return new Map(rows.map(r => [r.itemId, r]))
}

/**
 * Records, in the transaction of the changes, that `consumer` applied each of `eventIds` (as
 * markApplied does, one statement for all); returns those it had not applied before.
 */
export async function markAllApplied(tx: ProjectionsTx, consumer: string, eventIds: string[]): Promise<Set<string>> {
  const rows = await tx.processedEvent.createManyAndReturn({
    data: eventIds.map(eventId => ({ consumer, eventId })),
    skipDuplicates: true,
    select: { eventId: true },
  })
  return new Set(rows.map(r => r.eventId))
}

/**
 * Writes each decided row: `read` is the row as the transaction read it (null: none). Creating
 * fails on the primary key and updating is conditional on the row read (version and stream
 * position), so a concurrent writer makes this throw, never clobber. New rows go in one statement.
 */
export async function writeInfos(tx: ProjectionsTx, writes: { read: ItemInfoRow | null; next: ItemInfoRow }[]) {
  const created = writes.filter(w => !w.read).map(w => w.next)
  if (created.length === 1) await tx.itemInfo.create({ data: created[0] })
  else if (created.length) await tx.itemInfo.createMany({ data: created })
  for (const { read, next } of writes) {
    if (!read) continue
    const { itemId, ...data } = next
    const { count } = await tx.itemInfo.updateMany({
      where: { itemId, version: read.version, lastSeq: read.lastSeq },
      data,
    })
    if (count !== 1) throw new ConcurrentChange(itemId)
  }
}

/**
 * Records changes for the change feed, in the transaction that made them and in the order given
 * (the feed's order: the outbox sequence grows row by row); the relay publishes them.
 */
export async function recordChanges(tx: ProjectionsTx, stream: string, views: ItemInfoView[]): Promise<OutboxRow[]> {
  const rows = views.map(view => ({
    id: randomUUID(),
    subject: itemInfoChangedSubject(stream, view.itemId),
    envelope: view,
  }))
  const data = rows.map(r => ({ ...r, envelope: r.envelope as unknown as Prisma.InputJsonValue }))
  if (data.length === 1) await tx.outboxEvent.create({ data: data[0] })
  else if (data.length) await tx.outboxEvent.createMany({ data })
  return rows
}

/** One published change: which state of which item landed at which feed sequence. */
export interface PublishedChange {
  itemId: string
  version: number
  seq: number
}

/**
 * The change feed's outbox, as the relay reads it. Marking rows published also gives each ItemInfo
 * the feed sequence of the change that made its current state (its cursor), unless a newer state
 * has been written since; `published` hears of every sequence, so fresh commits start from it.
 */
export function changeFeedStore(db: ProjectionsDb, published: (changes: PublishedChange[]) => void): OutboxStore {
  const outbox = prismaOutboxStore(db)
  return {
    pending: outbox.pending,
    async markPublished(ids: string[], rows: PublishedRow[]) {
      await outbox.markPublished(ids, rows)
      const changes = rows.flatMap(({ row, seq }) => {
        const view = row.envelope as Partial<ItemInfoView> | null
        return typeof view?.itemId === 'string' && typeof view.version === 'number'
          ? [{ itemId: view.itemId, version: view.version, seq }]
          : []
      })
      if (!changes.length) return
      published(changes)
      await setCursors(db, changes)
    },
  }
}

/** Sets each changed ItemInfo's cursor to its change's feed sequence, if that state is still the row's. */
async function setCursors(db: ProjectionsDb, changes: PublishedChange[]): Promise<void> {
  await db.$executeRaw`
    UPDATE "ItemInfo" AS i SET "cursor" = c.seq
    FROM unnest(${changes.map(c => c.itemId)}::uuid[], ${changes.map(c => c.version)}::int[],
                ${changes.map(c => BigInt(c.seq))}::bigint[]) AS c(item_id, version, seq)
    WHERE i."itemId" = c.item_id AND i.version = c.version AND i."cursor" < c.seq`
}

/** A rebuilt read model is as new as everything the change feed holds: every row gets its end. */
export async function setEveryCursor(db: ProjectionsDb, seq: number): Promise<void> {
  await db.itemInfo.updateMany({ data: { cursor: BigInt(seq) } })
}

/** The largest cursor any ItemInfo has: where a fresh process starts counting the feed from. */
export async function maxCursor(db: ProjectionsDb): Promise<bigint> {
  const { _max } = await db.itemInfo.aggregate({ _max: { cursor: true } })
  return _max.cursor ?? 0n
}

/** A page of every ItemInfo, or of one owner's, newest item first (item ids sort by creation); index (ownerId, itemId). */
export const listInfos = (db: ProjectionsDb, ownerId: string | null | undefined, page: Page): Promise<ItemInfoRow[]> =>
  db.itemInfo.findMany(newestFirst(page, ownerId ? { ownerId } : {}, 'itemId'))

/** ItemInfos by item id, in the order asked, null where missing: the DataLoader batch. */
export async function infosByIds(db: ProjectionsDb, ids: readonly string[]): Promise<(ItemInfoRow | null)[]> {
  return inKeyOrder(ids, await db.itemInfo.findMany({ where: { itemId: { in: [...ids] } } }), r => r.itemId)
}

/** Empties the read model and forgets which events `consumer` applied: the start of a rebuild. */
export async function resetProjection(db: ProjectionsDb, consumer: string): Promise<void> {
  await db.$transaction(async tx => {
    await tx.itemInfo.deleteMany({})
    await tx.processedEvent.deleteMany({ where: { consumer } })
  })
}
