// Data access for the reservation database: the one module that talks to Prisma.
import { inKeyOrder, updateIfUnchanged as updateVersioned } from '@gdmarket/platform/rows'
import { postgresClientFactory, type PostgresDatabase } from '@gdmarket/platform/database'
import { prismaIdempotencyTable } from '@gdmarket/platform/idempotency'
import { prismaOutbox, type Cause, type Kick } from '@gdmarket/platform/outbox'
import { written, type StatementSink, type Written } from '@gdmarket/platform/outbox-statement'
import type { Statements } from '@gdmarket/platform/statements'
import { reservationEvents, type ReservationEvents, type ReservationSnapshot } from '@gdmarket/contracts/reservation'
import { newestFirst, type Page } from '@gdmarket/platform/paging'
import { Prisma, PrismaClient, type Reservation } from '../../../generated/reservation/client.js'

export type ReservationDb = PostgresDatabase<PrismaClient>
export type ReservationTx = Prisma.TransactionClient
export type { Reservation }

export const createReservationDb = postgresClientFactory(PrismaClient)

/** Use cases write state and events through `transact`; the relay publishes from `store`. */
export const reservationOutbox = (db: ReservationDb, stream: string, kick: Kick) =>
  prismaOutbox(db, {
    stream,
    catalogue: reservationEvents,
    kick,
    encode: (e): Prisma.InputJsonValue => e as unknown as Prisma.InputJsonValue,
  })

export const snapshot = (r: Reservation): ReservationSnapshot => ({
  reservationId: r.id,
  itemId: r.itemId,
  customerId: r.customerId,
  customerName: r.customerName,
  status: r.status,
  paymentStatus: r.paymentStatus,
  rentalStatus: r.rentalStatus,
})

/**
 * snapshot() as jsonb over the reservation row named `row` in a statement, for the events a
 * statement writes itself (store.int.test.ts checks the two agree).
 */
const snapshotSql = (row: string) => {
  const r = Prisma.raw(row)
  return Prisma.sql`jsonb_build_object('reservationId', ${r}."id", 'itemId', ${r}."itemId",
    'customerId', ${r}."customerId", 'customerName', ${r}."customerName", 'status', ${r}."status",
    'paymentStatus', ${r}."paymentStatus", 'rentalStatus', ${r}."rentalStatus")`
}

/**
 * Every Reservation column, named: a prepared statement that said `*` would fail on every connection
 * once a migration added a column ("cached plan must not change result type").
 */
const COLUMNS = [
  'id',
  'itemId',
  'customerId',
  'customerName',
  'status',
  'paymentStatus',
  'rentalStatus',
  'amount',
  'ownerId',
  'rejectReason',
  'itemDeleted',
  'paymentIntent',
  'paymentAttemptId',
  'paymentIntentAt',
  'cancelAfterRefund',
  'version',
  'createdAt',
  'updatedAt',
] as const satisfies readonly (keyof Reservation)[]
const columnsOf = (row: string) => Prisma.raw(COLUMNS.map(c => `${row}."${c}"`).join(', '))

export const findReservation = (tx: ReservationTx | ReservationDb, id: string) =>
  tx.reservation.findUnique({ where: { id } })

/** A page of a customer's reservations, newest first (ids sort by creation); index (customerId, id). */
export const listReservations = (db: ReservationDb, customerId: string, page: Page) =>
  db.reservation.findMany(newestFirst(page, { customerId }))

/** Reservations by id, in the order asked, null where missing: the DataLoader batch. */
export async function reservationsByIds(db: ReservationDb, ids: readonly string[]): Promise<(Reservation | null)[]> {
  return inKeyOrder(ids, await db.reservation.findMany({ where: { id: { in: [...ids] } } }), r => r.id)
}

/** The reservation with `data` applied if nobody changed it since it was read; null when it moved on meanwhile. */
export const updateIfUnchanged = (tx: ReservationTx, r: Reservation, data: Prisma.ReservationUpdateManyMutationInput) =>
  updateVersioned<Reservation, Prisma.ReservationUpdateManyMutationInput>(tx.reservation, r, data)

/** An item's hold for a reservation, as the ItemHeld event `eventId` tells it. */
export interface Hold {
  eventId: string
  cause: Cause
  reservationId: string
  /** The item's price: what the reservation will cost. */
  amount: number
  ownerId: string
}

/**
 * Confirms the reservations the item holds (of different reservations), in one statement: records
 * each event applied by `consumer` and, for those it had not applied and whose reservation is still
 * in status `from` (so no read, and no race with a change in between), confirms it and writes its
 * ReservationConfirmed. Nothing is written for the others.
 */
export async function confirmHolds(
  db: Statements,
  consumer: string,
  from: Reservation['status'],
  holds: Hold[],
  events: StatementSink<ReservationEvents>,
): Promise<void> {
  const confirmed = events.event(
    'ReservationConfirmed',
    'confirmed',
    holds.map(h => ({ aggregateId: h.reservationId, cause: h.cause, data: { amount: h.amount } })),
    { aggregateVersion: Prisma.sql`confirmed."version"`, fromRow: { reservation: snapshotSql('confirmed') } },
  )
  // The reservations are looked up by their ids (`= ANY`) as well as joined to the inputs, so the
  // lookup is by index whatever the planner believes of the table's size.
  const [row] = await db.rows<Written>(Prisma.sql`
    WITH input AS (
      SELECT * FROM unnest(${holds.map(h => h.eventId)}::uuid[], ${holds.map(h => h.reservationId)}::uuid[],
        ${holds.map(h => h.amount)}::int[], ${holds.map(h => h.ownerId)}::text[], ${confirmed.envelopes}::jsonb[])
        AS i("eventId", "reservationId", "amount", "ownerId", "envelope")
    ), applied AS (
      INSERT INTO "ProcessedEvent" ("consumer", "eventId") SELECT ${consumer}, "eventId" FROM input
      ON CONFLICT DO NOTHING RETURNING "eventId"
    ), confirmed AS (
      UPDATE "Reservation" r SET "status" = 'CONFIRMED', "amount" = i."amount", "ownerId" = i."ownerId",
        "version" = r."version" + 1, "updatedAt" = now()
      FROM input i JOIN applied a ON a."eventId" = i."eventId"
      WHERE r."id" = ANY(${holds.map(h => h.reservationId)}::uuid[]) AND r."id" = i."reservationId"
        AND r."status" = ${from}::"ReservationStatus"
      RETURNING ${columnsOf('r')}, i."envelope"
    ), outbox AS (${confirmed.outbox})
    SELECT ${written('outbox')}`)
  events.wrote(row.outboxWritten)
}

/** A new reservation (PENDING, version 1) and its ReservationRequested event, in one statement. */
export async function createReservation(
  db: Statements,
  r: Pick<Reservation, 'id' | 'itemId' | 'customerId' | 'customerName'>,
  cause: Cause,
  events: StatementSink<ReservationEvents>,
): Promise<Reservation> {
  const requested = events.event('ReservationRequested', 'created', [{ aggregateId: r.id, cause, data: {} }], {
    aggregateVersion: Prisma.sql`created."version"`,
    fromRow: { reservation: snapshotSql('created') },
  })
  const [created] = await db.rows<Reservation & Written>(Prisma.sql`
    WITH created AS (
      INSERT INTO "Reservation" ("id", "itemId", "customerId", "customerName", "updatedAt")
      VALUES (${r.id}::uuid, ${r.itemId}::uuid, ${r.customerId}, ${r.customerName}, now())
      RETURNING ${columnsOf('"Reservation"')}, ${requested.envelopes[0]}::jsonb AS "envelope"
    ), outbox AS (${requested.outbox})
    SELECT ${columnsOf('created')}, ${written('outbox')} FROM created`)
  const { outboxWritten, ...reservation } = created
  events.wrote(outboxWritten)
  return reservation
}

/** Marks every reservation of a deleted item (Reservation.item turns null); answers how many changed. */
export async function markItemDeleted(tx: ReservationTx, itemId: string): Promise<number> {
  const { count } = await tx.reservation.updateMany({
    where: { itemId, itemDeleted: false },
    data: { itemDeleted: true, version: { increment: 1 } },
  })
  return count
}

/** What settling a payment call clears. */
export const NO_INTENT = {
  paymentIntent: null,
  paymentAttemptId: null,
  paymentIntentAt: null,
  cancelAfterRefund: false,
} satisfies Prisma.ReservationUpdateManyMutationInput

/**
 * Applies `data` only while the reservation still waits on this payment attempt (the state guard:
 * whoever settles an attempt first, the request or the reconciler, is the only one who does).
 */
export async function updateIfAttempt(
  tx: ReservationTx,
  r: Reservation,
  data: Prisma.ReservationUpdateManyMutationInput,
): Promise<Reservation | null> {
  if (!r.paymentAttemptId) return null
  const [next] = await tx.reservation.updateManyAndReturn({
    where: { id: r.id, paymentAttemptId: r.paymentAttemptId, paymentIntent: { not: null } },
    data: { ...data, version: { increment: 1 } },
  })
  return next ?? null
}

/** Payment calls recorded before `before` and still unsettled, oldest first: the reconciler's work. */
export const unsettledPayments = (db: ReservationDb, before: Date, limit: number) =>
  db.reservation.findMany({
    where: { paymentIntent: { not: null }, paymentIntentAt: { lt: before } },
    orderBy: { paymentIntentAt: 'asc' },
    take: limit,
  })

/** The reservation database's IdempotencyRecord table. */
export const reservationIdempotency = (db: ReservationDb) =>
  prismaIdempotencyTable<ReservationTx>(
    db,
    e => e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002',
  )
