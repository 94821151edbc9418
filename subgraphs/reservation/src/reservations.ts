// The reservation use cases the renter drives: reserve an item and cancel the reservation.
import { conflict, notFound, requireId } from '@gdmarket/platform/errors'
import { requireCaller, requireRole, type Caller } from '@gdmarket/platform/identity'
import { newId } from '@gdmarket/platform/ids'
import type { ReservationEvents } from '@gdmarket/contracts/reservation'
import type { Logger } from '@gdmarket/platform/logger'
import type { Cause, Transact } from '@gdmarket/platform/outbox'
import type { PaymentClient } from './payment-client.js'
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
}

/** What a mutation knows of its request: who asks, and the correlation id its events and calls carry. */
export interface Asked {
  caller: Caller | null
  cause: Cause
}

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
 * Undoes a payment call whose reservation update could not be committed. Best effort: if payment
 * is unreachable now the mismatch is logged for an operator; the caller still gets CONFLICT.
 */
export async function compensate(deps: ReservationDeps, what: string, undo: () => Promise<unknown>): Promise<void> {
  try {
    await undo()
  } catch (err) {
    deps.logger.error({ err, what }, 'compensation failed: reservation and payment disagree')
  }
}

/** Answers PENDING at once; the item subgraph decides the hold from the ReservationRequested event. */
export async function reserveItem(deps: ReservationDeps, asked: Asked, itemId: string): Promise<Reservation> {
  const renter = requireRole(asked.caller, 'renter')
  const id = requireId(itemId, 'item id')
  return deps.transact(asked.cause, async (tx, events) => {
    const r = await createReservation(tx, {
      id: newId(),
      itemId: id,
      customerId: renter.userId,
      customerName: renter.name,
    })
    await events.emit('ReservationRequested', r.id, r.version, {
      reservation: snapshot(r),
    })
    return r
  })
}

/** Cancels before the item is rented; a paid reservation is refunded first (nothing changes if it cannot be). */
export async function cancelReservation(deps: ReservationDeps, asked: Asked, id: string): Promise<Reservation> {
  const r = await ownReservation(deps, asked.caller, id)
  assertCancellable(r)
  const wasPaid = r.paymentStatus === 'PAID'
  const refund = wasPaid ? await deps.payment.refund(r.id, asked.cause.correlationId) : null
  const cancelled = await deps.transact(asked.cause, async (tx, events) => {
    const next = await updateIfUnchanged(tx, r, {
      status: 'CANCELLED',
      ...(wasPaid ? { paymentStatus: 'CANCELLED' as const } : {}),
    })
    if (!next) return null
    await events.emit('ReservationCancelled', next.id, next.version, {
      reservation: snapshot(next),
      refunded: refund !== null,
    })
    return next
  })
  if (cancelled) return cancelled
  // The reservation moved on between the refund and the commit (e.g. the item was lent): if it
  // still counts as paid, charge back what was refunded.
  const now = await findReservation(deps.db, r.id)
  if (wasPaid && now?.paymentStatus === 'PAID' && r.amount !== null) {
    const amount = r.amount
    await compensate(deps, 'recharge after a failed cancellation', () =>
      deps.payment.approve(r.id, r.customerId, amount, asked.cause.correlationId),
    )
  }
  throw changedMeanwhile()
}
