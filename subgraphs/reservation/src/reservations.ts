// The reservation use cases the renter drives: reserve an item and cancel the reservation.
import { conflict, notFound, requireId } from '@gdmarket/platform/errors'
import { requireCaller, requireRole, type Caller } from '@gdmarket/platform/identity'
import { newId } from '@gdmarket/platform/ids'
import type { ReservationEvents } from '@gdmarket/contracts/reservation'
import type { Answer, Idempotency } from '@gdmarket/platform/idempotency'
import type { Logger } from '@gdmarket/platform/logger'
import type { Cause, Transact } from '@gdmarket/platform/outbox'
import { prismaStatements } from '@gdmarket/platform/statements'
import type { PaymentClient } from './payment-client.js'
import { refundAndSettle } from './payment-intents.js'
import { assertCancellable, assertCustomer } from './rules.js'
import {
  createReservation,
  findReservation,
  snapshot,
  updateIfUnchanged,
  type Reservation,
  type ReservationDb,
  type ReservationTx,
} from './store.js'

export interface ReservationDeps {
  db: ReservationDb
  transact: Transact<ReservationTx, ReservationEvents>
  payment: PaymentClient
  logger: Logger
  idempotency: Idempotency<ReservationTx>
}

/** What a mutation knows of its request: who asks, and the correlation id its events and calls carry. */
export interface Asked {
  caller: Caller | null
  cause: Cause
  /** With an Idempotency-Key: records the answer in the transaction that commits it. */
  answer?: ReservationAnswer
}

export type ReservationAnswer = Answer<ReservationTx, Reservation>

export const changedMeanwhile = () => conflict('the reservation changed meanwhile; try again')

/** The caller's own reservation, or NOT_FOUND / FORBIDDEN. */
export async function ownReservation(deps: ReservationDeps, caller: Caller | null, id: string): Promise<Reservation> {
  const customer = requireCaller(caller)
  const r = await findReservation(deps.db, requireId(id, 'reservation id'))
  if (!r) throw notFound('no such reservation')
  assertCustomer(r, customer.userId)
  return r
}

/**
 * Answers PENDING at once; the item subgraph decides the hold from the ReservationRequested event.
 * The reservation and its event are one statement, committed on its own; with an Idempotency-Key
 * the answer's record joins it in a transaction.
 */
export async function reserveItem(deps: ReservationDeps, asked: Asked, itemId: string): Promise<Reservation> {
  const renter = requireRole(asked.caller, 'renter')
  const id = requireId(itemId, 'item id')
  const reservation = { id: newId(), itemId: id, customerId: renter.userId, customerName: renter.name }
  const answer = asked.answer
  if (!answer) return deps.transact.alone((db, events) => createReservation(db, reservation, asked.cause, events))
  return deps.transact(asked.cause, async (tx, events) => {
    const r = await createReservation(prismaStatements(tx), reservation, asked.cause, events)
    await answer(tx, r)
    return r
  })
}

/**
 * Cancels before the item is rented. A CONFIRMED reservation may have been charged, so payment is
 * asked to refund whatever charge exists first; it is CANCELLED once payment has answered (by the
 * request, or by the reconciler when the answer is lost). A PENDING one was never charged.
 */
export async function cancelReservation(deps: ReservationDeps, asked: Asked, id: string): Promise<Reservation> {
  const r = await ownReservation(deps, asked.caller, id)
  assertCancellable(r)
  if (r.status === 'CONFIRMED') return refundAndSettle(deps, asked.cause, r, asked.answer, true)
  const cancelled = await deps.transact(asked.cause, async (tx, events) => {
    const next = await updateIfUnchanged(tx, r, { status: 'CANCELLED' })
    if (!next) return null
    await events.emit('ReservationCancelled', next.id, next.version, {
      reservation: snapshot(next),
      refunded: false,
    })
    await asked.answer?.(tx, next)
    return next
  })
  if (!cancelled) throw changedMeanwhile()
  return cancelled
}
