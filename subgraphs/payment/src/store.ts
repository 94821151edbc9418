// Data access for the payment database (SQLite): the one module that talks to Prisma.
import { inKeyOrder } from '@gdmarket/platform/rows'
import { prismaClientFactory } from '@gdmarket/platform/database'
import { prismaOutbox, type Kick } from '@gdmarket/platform/outbox'
import { paymentEvents, type PaymentFacts } from '@gdmarket/contracts/payment'
import { newestFirst, type Page } from '@gdmarket/platform/paging'
import { PrismaClient, Prisma, type Payment } from '../../../generated/payment/client.js'

export type PaymentDb = PrismaClient
export type PaymentTx = Prisma.TransactionClient
export type { Payment }

export const createPaymentDb = prismaClientFactory(PrismaClient)

/** Use cases write state and events through `transact`; the relay publishes from `store`.
 *  SQLite has no JSON column: the envelope is stored as its JSON text, published as is. */
export const paymentOutbox = (db: PaymentDb, stream: string, kick: Kick) =>
  prismaOutbox(db, { stream, catalogue: paymentEvents, kick, encode: (e): string => JSON.stringify(e) })

export const findByReservation = (tx: PaymentTx | PaymentDb, reservationId: string) =>
  tx.payment.findUnique({ where: { reservationId } })

/** A page of a customer's payments, newest first (ids sort by creation); index (customerId, id). */
export const listPayments = (db: PaymentDb, customerId: string, page: Page) =>
  db.payment.findMany(newestFirst(page, { customerId }))

/** Payments by id, in the order asked, null where missing: a DataLoader batch. */
export async function paymentsByIds(db: PaymentDb, ids: readonly string[]): Promise<(Payment | null)[]> {
  return inKeyOrder(ids, await db.payment.findMany({ where: { id: { in: [...ids] } } }), p => p.id)
}

/** Payments by reservation id, in the order asked, null where there is none: a DataLoader batch. */
export async function paymentsByReservationIds(
  db: PaymentDb,
  reservationIds: readonly string[],
): Promise<(Payment | null)[]> {
  const rows = await db.payment.findMany({ where: { reservationId: { in: [...reservationIds] } } })
  return inKeyOrder(reservationIds, rows, p => p.reservationId)
}

/** A first approval: the payment row, PAID. */
export const createPayment = (
  tx: PaymentTx,
  data: { id: string; reservationId: string; customerId: string; amount: number },
): Promise<Payment> => tx.payment.create({ data })

/** A refunded payment charged again (a reservation paid after cancelling its payment). */
export const rechargePayment = (tx: PaymentTx, id: string, charge: { customerId: string; amount: number }) =>
  tx.payment.update({
    where: { id },
    data: { status: 'PAID', ...charge, cancelledAt: null, version: { increment: 1 } },
  })

/** The payment refunded: CANCELLED. */
export const markRefunded = (tx: PaymentTx, id: string) =>
  tx.payment.update({
    where: { id },
    data: { status: 'CANCELLED', cancelledAt: new Date(), version: { increment: 1 } },
  })

/** A reservation's call, by its attempt id: what it was (CHARGE, REFUND) or CLOSED, null if never seen. */
export const findAttempt = (tx: PaymentTx, id: string) => tx.paymentAttempt.findUnique({ where: { id } })

export const recordAttempt = (tx: PaymentTx, id: string, reservationId: string, kind: 'CHARGE' | 'REFUND' | 'CLOSED') =>
  tx.paymentAttempt.create({ data: { id, reservationId, kind } })

/** Two first approvals of one reservation (or two arrivals of one attempt) raced and the other inserted the row. */
export const isDuplicateReservation = (e: unknown): boolean =>
  e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002'

export const paymentEventData = (p: Payment): PaymentFacts => ({
  paymentId: p.id,
  reservationId: p.reservationId,
  customerId: p.customerId,
  amount: p.amount,
})
