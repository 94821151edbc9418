// Data access for the projections database: the one module that talks to Prisma.
import { inKeyOrder } from '@gdmarket/platform/rows'
import { randomUUID } from 'node:crypto'
import { postgresClientFactory, type PostgresDatabase } from '@gdmarket/platform/database'
import { itemInfoChangedSubject } from '@gdmarket/contracts/item-info'
import { postgresOutboxStore, type OutboxRow, type OutboxStore, type PublishedRow } from '@gdmarket/platform/outbox'
import type { Statements } from '@gdmarket/platform/statements'
import { Prisma, PrismaClient } from '../../generated/projections/client.js'
import { newestFirst, type Page } from '@gdmarket/platform/paging'
import type { ItemInfoRow, ItemInfoView } from './item-info-rules.js'

export type ProjectionsDb = PostgresDatabase<PrismaClient>
export type ProjectionsTx = Prisma.TransactionClient

export const createProjectionsDb = postgresClientFactory(PrismaClient)

/** The ItemInfo columns, named: a prepared statement that said `*` would fail once a migration added one. */
const COLUMNS = [
  'itemId',
  'itemName',
  'itemPrice',
  'ownerId',
  'itemStatus',
  'rentalStatus',
  'deleted',
  'reservationId',
  'customerId',
  'customerName',
  'reservationStatus',
  'paymentStatus',
  'version',
  'itemVersion',
  'reservationVersion',
  'lastSeq',
  'updatedAt',
  'lat',
  'lng',
  'cursor',
] as const satisfies readonly (keyof ItemInfoRow)[]
/** Each column's type in an array parameter (`unnest`). */
const TYPES: Record<(typeof COLUMNS)[number], string> = {
  itemId: 'uuid',
  itemName: 'text',
  itemPrice: 'int',
  ownerId: 'text',
  itemStatus: '"ItemStatus"',
  rentalStatus: '"RentalStatus"',
  deleted: 'boolean',
  reservationId: 'uuid',
  customerId: 'text',
  customerName: 'text',
  reservationStatus: '"ReservationStatus"',
  paymentStatus: '"PaymentStatus"',
  version: 'int',
  itemVersion: 'int',
  reservationVersion: 'int',
  lastSeq: 'bigint',
  updatedAt: 'timestamptz',
  lat: 'float8',
  lng: 'float8',
  cursor: 'bigint',
}
const columns = (prefix = '') => Prisma.raw(COLUMNS.map(c => `${prefix}"${c}"`).join(', '))

export const findInfo = (tx: ProjectionsTx | ProjectionsDb, itemId: string): Promise<ItemInfoRow | null> =>
  tx.itemInfo.findUnique({ where: { itemId } })

/** What applying a batch starts from: the rows of its items, and which of its events were applied before. */
export interface BatchStart {
  rows: Map<string, ItemInfoRow>
  appliedBefore: Set<string>
}

/** The ItemInfos of `itemIds` that exist and which of `eventIds` `consumer` applied before, in one statement. */
export async function readBatchStart(
  db: Statements,
  consumer: string,
  itemIds: string[],
  eventIds: string[],
): Promise<BatchStart> {
  // One row at least (the LEFT JOIN), so the applied ids come back even when no ItemInfo exists yet.
  const found = await db.rows<ItemInfoRow & { appliedBefore: string[] | null }>(Prisma.sql`
    SELECT ${columns('i.')}, (SELECT array_agg("eventId"::text) FROM "ProcessedEvent"
      WHERE "consumer" = ${consumer} AND "eventId" = ANY(${eventIds}::uuid[])) AS "appliedBefore"
    FROM (SELECT 1) AS one LEFT JOIN "ItemInfo" i ON i."itemId" = ANY(${itemIds}::uuid[])`)
  const rows = new Map<string, ItemInfoRow>()
  for (const { appliedBefore: _, ...row } of found) if (row.itemId !== null) rows.set(row.itemId, row)
  return { rows, appliedBefore: new Set(found[0]?.appliedBefore ?? []) }
}

/** Another writer changed a row, or applied an event, between our read and our write; the events are retried. */
export class ConcurrentChange extends Error {
  constructor(reason: string) {
    super(`ItemInfo not written: ${reason}`)
    this.name = 'ConcurrentChange'
  }
}

/** A change for the change feed: its outbox row, published after the commit. */
export const changeRow = (stream: string, view: ItemInfoView): OutboxRow => ({
  id: randomUUID(),
  subject: itemInfoChangedSubject(stream, view.itemId),
  envelope: view,
})

const UNIQUE_VIOLATION = '23505'

/**
 * Writes a batch's outcome in one statement, all or nothing: records each of `eventIds` applied by
 * `consumer`, writes each decided row (`read` is the row as it was read, null for none) and the
 * change feed's rows in the order given (the feed's order: the outbox sequence grows row by row).
 * Creating is conditional on no row (its key), updating on the row read (version and stream
 * position), as is a row the batch decided from without writing it (`unchanged`), and recording
 * on no earlier record: when any of these fails the statement undoes
 * itself (the key, or `abort_statement`), and this throws ConcurrentChange, so nothing is clobbered
 * or applied twice.
 */
export async function writeBatch(
  db: Statements,
  consumer: string,
  batch: {
    eventIds: string[]
    writes: { read: ItemInfoRow | null; next: ItemInfoRow }[]
    changes: OutboxRow[]
    /** Rows the batch decided from but does not write, which must still be as they were (kept in memory). */
    unchanged?: ItemInfoRow[]
  },
): Promise<void> {
  const { eventIds, writes, changes } = batch
  const unchanged = batch.unchanged ?? []
  // New rows are inserted without ON CONFLICT: a row created meanwhile fails the statement on the
  // key, which undoes it as the guards do (and an ON CONFLICT clause, even over no rows, cost
  // PostgreSQL more than the rest of the statement).
  const created = writes.filter(w => !w.read).map(w => w.next)
  const updated = writes.filter(w => w.read)
  const arrays = (rows: ItemInfoRow[]) =>
    Prisma.join(COLUMNS.map(c => Prisma.sql`${rows.map(r => r[c])}::${Prisma.raw(TYPES[c])}[]`))
  const set = Prisma.raw(
    COLUMNS.filter(c => c !== 'itemId')
      .map(c => `"${c}" = w."${c}"`)
      .join(', '),
  )
  await db
    .rows(Prisma.sql`
    WITH applied AS (
      INSERT INTO "ProcessedEvent" ("consumer", "eventId") SELECT ${consumer}, e FROM unnest(${eventIds}::uuid[]) e
      ON CONFLICT DO NOTHING RETURNING 1
    ), created AS (
      INSERT INTO "ItemInfo" (${columns()}) SELECT * FROM unnest(${arrays(created)}) RETURNING 1
    ), updated AS (
      UPDATE "ItemInfo" i SET ${set}
      FROM unnest(${arrays(updated.map(w => w.next))}, ${updated.map(w => w.read!.version)}::int[],
        ${updated.map(w => w.read!.lastSeq)}::bigint[]) AS w(${columns()}, "readVersion", "readLastSeq")
      WHERE i."itemId" = ANY(${updated.map(w => w.next.itemId)}::uuid[]) AND i."itemId" = w."itemId"
        AND i."version" = w."readVersion" AND i."lastSeq" = w."readLastSeq"
      RETURNING 1
    ), still AS (
      SELECT 1 FROM "ItemInfo" i, unnest(${unchanged.map(r => r.itemId)}::uuid[], ${unchanged.map(r => r.version)}::int[],
        ${unchanged.map(r => r.lastSeq)}::bigint[]) AS u("itemId", "version", "lastSeq")
      WHERE i."itemId" = ANY(${unchanged.map(r => r.itemId)}::uuid[]) AND i."itemId" = u."itemId"
        AND i."version" = u."version" AND i."lastSeq" = u."lastSeq"
    ), feed AS (
      INSERT INTO "OutboxEvent" ("id", "subject", "envelope")
      SELECT * FROM unnest(${changes.map(c => c.id)}::uuid[], ${changes.map(c => c.subject)}::text[],
        ${changes.map(c => JSON.stringify(c.envelope))}::jsonb[])
      RETURNING 1
    )
    SELECT CASE
      WHEN (SELECT count(*) FROM applied) <> ${eventIds.length} THEN abort_statement('an event was applied meanwhile')
      WHEN (SELECT count(*) FROM updated) <> ${updated.length} OR (SELECT count(*) FROM still) <> ${unchanged.length}
        THEN abort_statement('a row changed meanwhile')
      ELSE (SELECT count(*) FROM feed) = ${changes.length} END AS "written"`)
    .catch((e: { code?: string; message?: string }) => {
      if (e.code === 'P0001') throw new ConcurrentChange(String(e.message))
      if (e.code === UNIQUE_VIOLATION) throw new ConcurrentChange('a row was created meanwhile')
      throw e
    })
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
 * has been written since, in the same statement; `published` hears of every sequence, so fresh
 * commits start from it.
 */
export function changeFeedStore(db: ProjectionsDb, published: (changes: PublishedChange[]) => void): OutboxStore {
  const outbox = postgresOutboxStore(db.statements)
  return {
    pending: outbox.pending,
    async markPublished(ids: string[], rows: PublishedRow[]) {
      const changes = rows.flatMap(({ row, seq }) => {
        const view = (
          typeof row.envelope === 'string' ? JSON.parse(row.envelope) : row.envelope
        ) as Partial<ItemInfoView>
        return typeof view?.itemId === 'string' && typeof view.version === 'number'
          ? [{ itemId: view.itemId, version: view.version, seq }]
          : []
      })
      if (changes.length) published(changes)
      await db.statements.rows(Prisma.sql`
        WITH marked AS (UPDATE "OutboxEvent" SET "publishedAt" = now() WHERE "id" = ANY(${ids}::uuid[]))
        UPDATE "ItemInfo" AS i SET "cursor" = c.seq
        FROM unnest(${changes.map(c => c.itemId)}::uuid[], ${changes.map(c => c.version)}::int[],
                    ${changes.map(c => BigInt(c.seq))}::bigint[]) AS c(item_id, version, seq)
        WHERE i."itemId" = ANY(${changes.map(c => c.itemId)}::uuid[]) AND i."itemId" = c.item_id
          AND i.version = c.version AND i."cursor" < c.seq`)
    },
  }
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
