// Data access for the reservation database: the one module that talks to Prisma.
import { inKeyOrder, updateIfUnchanged as updateVersioned } from '@gdmarket/platform/rows'
import { postgresClientFactory, type PostgresDatabase } from '@gdmarket/platform/database'
import { prismaIdempotencyTable } from '@gdmarket/platform/idempotency'
import { prismaOutbox, type Kick } from '@gdmarket/platform/outbox'
import { written, type StatementSink, type Written } from '@gdmarket/platform/outbox-statement'
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

/**
 * Records `eventId` applied by `consumer`, confirms the reservation for the item's hold and writes
 * its ReservationConfirmed event, in one statement: only if the event was not applied before and
 * the reservation is still in status `from` (so no read, and no race with a change in between).
 * The reservation after the change, or null when there was nothing to do (and nothing was written).
 */
export async function confirmHold(
  db: ReservationTx,
  applied: { consumer: string; eventId: string },
  hold: { reservationId: string; from: Reservation['status']; amount: number; ownerId: string },
  events: StatementSink<ReservationEvents>,
): Promise<Reservation | null> {
  const [next] = await db.$queryRaw<(Reservation & Written)[]>`
    WITH applied AS (
      INSERT INTO "ProcessedEvent" ("consumer", "eventId") VALUES (${applied.consumer}, ${applied.eventId}::uuid)
      ON CONFLICT DO NOTHING RETURNING 1
    ), confirmed AS (
      UPDATE "Reservation" SET "status" = 'CONFIRMED', "amount" = ${hold.amount}, "ownerId" = ${hold.ownerId},
        "version" = "version" + 1, "updatedAt" = now()
      WHERE "id" = ${hold.reservationId}::uuid AND "status" = ${hold.from}::"ReservationStatus"
        AND EXISTS (SELECT 1 FROM applied)
      RETURNING *
    ), outbox AS (${events.outbox('ReservationConfirmed', 'confirmed', {
      aggregateId: hold.reservationId,
      aggregateVersion: Prisma.sql`confirmed."version"`,
      data: { amount: hold.amount },
      fromRow: { reservation: snapshotSql('confirmed') },
    })})
    SELECT confirmed.*, ${written('outbox')} FROM confirmed`
  return events.written(next)
}

/**
 * A new reservation (PENDING, version 1) and its ReservationRequested event, in one statement (no
 * transaction needed: see Transact.alone).
 */
export async function createReservation(
  db: ReservationTx,
  r: Pick<Reservation, 'id' | 'itemId' | 'customerId' | 'customerName'>,
  events: StatementSink<ReservationEvents>,
): Promise<Reservation> {
  const [created] = await db.$queryRaw<(Reservation & Written)[]>`
    WITH created AS (
      INSERT INTO "Reservation" ("id", "itemId", "customerId", "customerName", "updatedAt")
      VALUES (${r.id}::uuid, ${r.itemId}::uuid, ${r.customerId}, ${r.customerName}, now())
      RETURNING *
    ), outbox AS (${events.outbox('ReservationRequested', 'created', {
      aggregateId: r.id,
      aggregateVersion: Prisma.sql`created."version"`,
      data: {},
      fromRow: { reservation: snapshotSql('created') },
    })})
    SELECT created.*, ${written('outbox')} FROM created`
  return events.written(created)!
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
