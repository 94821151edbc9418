// Data access for the item database: the one module that talks to Prisma.
import { inKeyOrder, updateIfUnchanged as updateVersioned } from '@gdmarket/platform/rows'
import { postgresClientFactory, type PostgresDatabase } from '@gdmarket/platform/database'
import { prismaIdempotencyTable } from '@gdmarket/platform/idempotency'
import { prismaOutbox, type Cause, type Kick } from '@gdmarket/platform/outbox'
import { written, type StatementSink, type Written } from '@gdmarket/platform/outbox-statement'
import type { Statements } from '@gdmarket/platform/statements'
import {
  itemEvents,
  type GeoPoint,
  type ItemEvents,
  type ItemSnapshot,
  type ItemStatus,
} from '@gdmarket/contracts/item'
import { newestFirst, type Page } from '@gdmarket/platform/paging'
import { Prisma, PrismaClient, type Item } from '../../../generated/item/client.js'

export type ItemDb = PostgresDatabase<PrismaClient>
export type ItemTx = Prisma.TransactionClient
export type { Item }

export const createItemDb = postgresClientFactory(PrismaClient)

/** Use cases write state and events through `transact`; the relay publishes from `store`. */
export const itemOutbox = (db: ItemDb, stream: string, kick: Kick) =>
  prismaOutbox(db, {
    stream,
    catalogue: itemEvents,
    kick,
    encode: (e): Prisma.InputJsonValue => e as unknown as Prisma.InputJsonValue,
  })

export const snapshot = (item: Item): ItemSnapshot => ({
  itemId: item.id,
  name: item.name,
  price: item.price,
  ownerId: item.ownerId,
  status: item.status,
  rentalStatus: item.rentalStatus,
  deleted: item.deletedAt !== null,
  location: locationOf(item),
  area: item.area,
})

/**
 * snapshot() as jsonb over the item row named `row` in a statement, for the events a statement
 * writes itself (item.int.test.ts checks the two agree).
 */
const snapshotSql = (row: string) => {
  const i = Prisma.raw(row)
  return Prisma.sql`jsonb_build_object('itemId', ${i}."id", 'name', ${i}."name", 'price', ${i}."price",
    'ownerId', ${i}."ownerId", 'status', ${i}."status", 'rentalStatus', ${i}."rentalStatus",
    'deleted', ${i}."deletedAt" IS NOT NULL,
    'location', CASE WHEN ${i}."lat" IS NULL OR ${i}."lng" IS NULL THEN NULL
                     ELSE jsonb_build_object('lat', ${i}."lat", 'lng', ${i}."lng") END,
    'area', ${i}."area")`
}

/**
 * The Item columns Prisma reads (not the geography, which it has no type for), named: a prepared
 * statement that said `*` would fail once a migration added a column.
 */
const itemColumnsOf = (row: string) =>
  Prisma.raw(
    ['id', 'name', 'price', 'ownerId', 'status', 'rentalStatus', 'holdReservationId', 'holdCustomerId']
      .concat(['holdCustomerName', 'deletedAt', 'version', 'createdAt', 'updatedAt', 'lat', 'lng', 'area'])
      .map(c => `${row}."${c}"`)
      .join(', '),
  )

/** Both coordinates or none: registration writes them together. */
export const locationOf = (item: Pick<Item, 'lat' | 'lng'>): GeoPoint | null =>
  item.lat === null || item.lng === null ? null : { lat: item.lat, lng: item.lng }

/** The geography column is derived from lat/lng by the database (migration 20261201194500_location). */
export const locationColumns = (location: GeoPoint | null) => ({
  lat: location?.lat ?? null,
  lng: location?.lng ?? null,
})

export interface NearbyRow {
  item: Item
  distanceKm: number
}

// The candidate box is widened by 1 % and the exact re-rank by 2.5 %: distance on PostGIS's sphere
// (what the index orders by, `<->`) differs from the WGS 84 spheroid's by under 0.6 %.
const BOX_MARGIN = 1.01
const RERANK_MARGIN = 1.025

/**
 * Live items within `radiusKm` of `near`, nearest first by the distance on the WGS 84 spheroid, at
 * most `first`. One statement in two steps, both on the GiST index: `nearest` walks the index in
 * sphere-distance order (KNN) and stops after `first` matches, which bounds how far the answer can
 * reach; the outer query takes every item within that bound (plus the margin), filters on the exact
 * spheroid radius and sorts by the exact spheroid distance. So the cost follows `first`, not how many
 * items lie in the radius.
 */
export async function itemsNear(
  db: ItemDb,
  q: { near: GeoPoint; radiusKm: number; status: ItemStatus | null; first: number },
): Promise<NearbyRow[]> {
  const point = Prisma.sql`ST_SetSRID(ST_MakePoint(${q.near.lng}::float8, ${q.near.lat}::float8), 4326)::geography`
  const status = q.status ? Prisma.sql`i.status = ${q.status}::"ItemStatus"` : Prisma.sql`TRUE`
  const radiusM = q.radiusKm * 1000
  const rows = await db.$queryRaw<(Omit<Item, 'location'> & { distanceM: number })[]>`
    WITH nearest AS (
      SELECT i.location <-> ${point} AS sphere_m FROM "Item" i
      WHERE i."deletedAt" IS NULL AND ${status} AND i.location && _ST_Expand(${point}, ${radiusM * BOX_MARGIN}::float8)
      ORDER BY i.location <-> ${point}
      LIMIT ${q.first}
    ), bound AS (
      SELECT CASE WHEN count(*) < ${q.first} THEN ${radiusM * BOX_MARGIN}::float8
                  ELSE LEAST(${radiusM * BOX_MARGIN}::float8, max(sphere_m) * ${RERANK_MARGIN}::float8 + 1) END AS m
      FROM nearest
    )
    SELECT i."id", i."name", i."price", i."ownerId", i."status"::text AS "status", i."rentalStatus"::text AS "rentalStatus",
           i."holdReservationId", i."holdCustomerId", i."holdCustomerName", i."deletedAt", i."version",
           i."createdAt", i."updatedAt", i."lat", i."lng", i."area",
           ST_Distance(i.location, ${point}, true) AS "distanceM"
    FROM "Item" i, bound
    WHERE i."deletedAt" IS NULL AND ${status}
      AND i.location && _ST_Expand(${point}, bound.m)
      AND ST_DWithin(i.location, ${point}, ${radiusM}::float8, true)
    ORDER BY "distanceM", i."id"
    LIMIT ${q.first}`
  return rows.map(({ distanceM, ...item }) => ({ item: item as Item, distanceKm: distanceM / 1000 }))
}

/** A page of items not deleted, newest first (ids sort by creation); index (status, deletedAt, id) or (deletedAt, id). */
export const listItems = (db: ItemDb, status: ItemStatus | null | undefined, page: Page) =>
  db.item.findMany(newestFirst(page, { deletedAt: null, ...(status ? { status } : {}) }))

/** Live (not deleted) items by id, in the order asked, null where missing: the DataLoader batch. */
export async function itemsByIds(db: ItemDb, ids: readonly string[]): Promise<(Item | null)[]> {
  return inKeyOrder(ids, await db.item.findMany({ where: { id: { in: [...ids] }, deletedAt: null } }), r => r.id)
}

export const findItem = (tx: ItemTx | ItemDb, id: string) => tx.item.findUnique({ where: { id } })
export const findItemHeldBy = (tx: ItemTx | ItemDb, reservationId: string) =>
  tx.item.findFirst({ where: { holdReservationId: reservationId } })

/** The item with `data` applied if nobody changed it since it was read; null when it moved on meanwhile. */
export const updateIfUnchanged = (tx: ItemTx, item: Item, data: Prisma.ItemUpdateManyMutationInput) =>
  updateVersioned<Item, Prisma.ItemUpdateManyMutationInput>(tx.item, item, data)

/** A new item, version 1. */
export const createItem = (tx: ItemTx, data: Prisma.ItemUncheckedCreateInput): Promise<Item> => tx.item.create({ data })

/**
 * What the item's consumer does first with a reservation event, in one statement: records that
 * `consumer` applied `eventId` (as markApplied does) and, if it had not, records the newest version
 * seen of the reservation. True only when the event is new to the consumer and newer than what was
 * seen, so an older reservation event never overrides a newer one.
 */
export async function applyReservationEvent(
  tx: ItemTx,
  consumer: string,
  eventId: string,
  reservationId: string,
  version: number,
): Promise<boolean> {
  const changed = await tx.$executeRaw`
    WITH applied AS (
      INSERT INTO "ProcessedEvent" ("consumer", "eventId") VALUES (${consumer}, ${eventId}::uuid)
      ON CONFLICT DO NOTHING RETURNING 1
    )
    INSERT INTO "ReservationSeen" ("reservationId", "version") SELECT ${reservationId}::uuid, ${version} FROM applied
    ON CONFLICT ("reservationId") DO UPDATE SET "version" = EXCLUDED."version"
    WHERE "ReservationSeen"."version" < EXCLUDED."version"`
  return changed === 1
}

/** A reservation's request for an item, as the ReservationRequested event `eventId` tells it. */
export interface HoldRequest {
  eventId: string
  cause: Cause
  reservationId: string
  /** The reservation's version the event carries. */
  version: number
  itemId: string
  customerId: string
  customerName: string
}

/**
 * The requests (each for another item) that win their item's hold, in one statement: holds each
 * RENTABLE item, records `eventId` applied by `consumer` and the reservation's version seen (as
 * applyReservationEvent does) and writes ItemHeld. Only a request new to the consumer and newer than
 * what was seen of its reservation; for the others, and when the item is not rentable, it writes
 * nothing (the transactional handler then decides, and says why). Answers the ids of the events
 * that won. Those two checks read the statement's snapshot: exact, because the consumer applies
 * one item's events one at a time (and a copy of an event applied meanwhile anyway fails on the
 * ProcessedEvent key, so it is retried, and then seen as applied).
 */
export async function holdForRequests(
  db: Statements,
  consumer: string,
  requests: HoldRequest[],
  events: StatementSink<ItemEvents>,
): Promise<Set<string>> {
  const held = events.event(
    'ItemHeld',
    'held',
    requests.map(r => ({
      aggregateId: r.itemId,
      cause: r.cause,
      data: { reservationId: r.reservationId, customerId: r.customerId, customerName: r.customerName },
    })),
    { aggregateVersion: Prisma.sql`held."version"`, fromRow: { item: snapshotSql('held') } },
  )
  const column = <K extends keyof HoldRequest>(k: K) => requests.map(r => r[k])
  // Conditional on RENTABLE: of many concurrent requests for one item exactly one row update succeeds.
  // Every lookup is bounded by the inputs' own ids (`= ANY`), so each one is an index lookup whatever
  // the planner believes of the tables' sizes: joined to the unnested inputs alone, the record
  // check read every record of the consumer.
  const [row] = await db.rows<{ won: string[] | null } & Written>(Prisma.sql`
    WITH input AS (
      SELECT * FROM unnest(${column('eventId')}::uuid[], ${column('reservationId')}::uuid[], ${column('version')}::int[],
        ${column('itemId')}::uuid[], ${column('customerId')}::text[], ${column('customerName')}::text[],
        ${held.envelopes}::jsonb[])
        AS i("eventId", "reservationId", "requestVersion", "itemId", "customerId", "customerName", "envelope")
    ), applied_before AS (
      SELECT "eventId" FROM "ProcessedEvent" WHERE "consumer" = ${consumer} AND "eventId" = ANY(${column('eventId')}::uuid[])
    ), seen AS (
      SELECT "reservationId", "version" FROM "ReservationSeen" WHERE "reservationId" = ANY(${column('reservationId')}::uuid[])
    ), held AS (
      UPDATE "Item" it SET "status" = 'NOT_RENTABLE', "holdReservationId" = i."reservationId",
        "holdCustomerId" = i."customerId", "holdCustomerName" = i."customerName",
        "version" = it."version" + 1, "updatedAt" = now()
      FROM input i
      WHERE it."id" = ANY(${column('itemId')}::uuid[]) AND it."id" = i."itemId"
        AND it."status" = 'RENTABLE' AND it."deletedAt" IS NULL AND it."rentalStatus" <> 'RENTING'
        AND i."eventId" NOT IN (SELECT "eventId" FROM applied_before)
        AND NOT EXISTS (SELECT 1 FROM seen s WHERE s."reservationId" = i."reservationId" AND s."version" >= i."requestVersion")
      RETURNING ${itemColumnsOf('it')}, i."eventId", i."reservationId", i."requestVersion", i."envelope"
    ), applied AS (
      INSERT INTO "ProcessedEvent" ("consumer", "eventId") SELECT ${consumer}, "eventId" FROM held
    ), newer AS (
      INSERT INTO "ReservationSeen" ("reservationId", "version") SELECT "reservationId", "requestVersion" FROM held
      ON CONFLICT ("reservationId") DO UPDATE SET "version" = EXCLUDED."version"
      WHERE "ReservationSeen"."version" < EXCLUDED."version"
    ), outbox AS (${held.outbox})
    SELECT (SELECT json_agg("eventId") FROM held) AS "won", ${written('outbox')}`)
  events.wrote(row.outboxWritten)
  return new Set(row.won ?? [])
}

/** Holds a RENTABLE item for a reservation; null when it is not (any more) rentable. */
export async function holdItem(
  tx: ItemTx,
  itemId: string,
  hold: { reservationId: string; customerId: string; customerName: string },
): Promise<Item | null> {
  // Conditional on RENTABLE: of many concurrent requests exactly one row update succeeds.
  const [held] = await tx.item.updateManyAndReturn({
    where: { id: itemId, status: 'RENTABLE', deletedAt: null, rentalStatus: { not: 'RENTING' } },
    data: {
      status: 'NOT_RENTABLE',
      holdReservationId: hold.reservationId,
      holdCustomerId: hold.customerId,
      holdCustomerName: hold.customerName,
      version: { increment: 1 },
    },
  })
  return held ?? null
}

/** The item database's IdempotencyRecord table. */
export const itemIdempotency = (db: ItemDb) =>
  prismaIdempotencyTable<ItemTx>(db, e => e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002')

export const reservationKnown = async (db: ItemDb, reservationId: string) =>
  (await db.reservationSeen.count({ where: { reservationId } })) > 0

const NO_HOLD = { holdReservationId: null, holdCustomerId: null, holdCustomerName: null } as const

/** Lends the item to the reservation holding it, as that reservation decided; null if the item moved on. */
export const lendToHolder = (tx: ItemTx, item: Item) => updateIfUnchanged(tx, item, { rentalStatus: 'RENTING' })

/** Takes the item back from the reservation it is lent to: RETURNED and RENTABLE, no hold. */
export const takeBack = (tx: ItemTx, item: Item) =>
  updateIfUnchanged(tx, item, { rentalStatus: 'RETURNED', status: 'RENTABLE', ...NO_HOLD })

/** Releases the hold of a cancelled reservation: RENTABLE, no hold. */
export const releaseHold = (tx: ItemTx, item: Item) => updateIfUnchanged(tx, item, { status: 'RENTABLE', ...NO_HOLD })
