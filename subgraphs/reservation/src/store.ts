// Data access for the reservation database: the one module that talks to Prisma.
import { inKeyOrder, updateIfUnchanged as updateVersioned } from '@gdmarket/platform/rows'
import { prismaAdapter, type PoolOptions } from '@gdmarket/platform/database'
import { prismaOutbox, type Kick } from '@gdmarket/platform/outbox'
import { reservationEvents, type ReservationSnapshot } from '@gdmarket/contracts/reservation'
import type { Page } from '@gdmarket/platform/paging'
import { PrismaClient, type Prisma, type Reservation } from '../../../generated/reservation/client.js'

export type ReservationDb = PrismaClient
export type ReservationTx = Prisma.TransactionClient
export type { Reservation }

export const createReservationDb = (url: string, poolSize: number, pool?: PoolOptions): ReservationDb =>
  new PrismaClient({ adapter: prismaAdapter(url, poolSize, pool) })

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

export const findReservation = (tx: ReservationTx | ReservationDb, id: string) =>
  tx.reservation.findUnique({ where: { id } })

/** A page of a customer's reservations, newest first (ids sort by creation); index (customerId, id). */
export const listReservations = (db: ReservationDb, customerId: string, page: Page) =>
  db.reservation.findMany({
    where: { customerId, ...(page.after ? { id: { lt: page.after } } : {}) },
    orderBy: { id: 'desc' },
    take: page.first,
  })

/** Reservations by id, in the order asked, null where missing: the DataLoader batch. */
export async function reservationsByIds(db: ReservationDb, ids: readonly string[]): Promise<(Reservation | null)[]> {
  return inKeyOrder(ids, await db.reservation.findMany({ where: { id: { in: [...ids] } } }), r => r.id)
}

/** The reservation with `data` applied if nobody changed it since it was read; null when it moved on meanwhile. */
export const updateIfUnchanged = (tx: ReservationTx, r: Reservation, data: Prisma.ReservationUpdateManyMutationInput) =>
  updateVersioned<Reservation, Prisma.ReservationUpdateManyMutationInput>(tx.reservation, r, data)

/** A new reservation: PENDING, version 1. */
export const createReservation = (
  tx: ReservationTx,
  data: Prisma.ReservationUncheckedCreateInput,
): Promise<Reservation> => tx.reservation.create({ data })

/** Marks every reservation of a deleted item (Reservation.item turns null); answers how many changed. */
export async function markItemDeleted(tx: ReservationTx, itemId: string): Promise<number> {
  const { count } = await tx.reservation.updateMany({
    where: { itemId, itemDeleted: false },
    data: { itemDeleted: true, version: { increment: 1 } },
  })
  return count
}
