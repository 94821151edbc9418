// The payment use cases of a reservation: pay it and cancel (refund) the payment. Payment is called
// synchronously before the reservation changes; the reservation's id is the payment's idempotency
// key, so a retry after a timeout never charges twice.
import { conflict } from '@gdmarket/platform/errors'
import { changedMeanwhile, compensate, ownReservation, type Asked, type ReservationDeps } from './reservations.js'
import { assertPayable, assertPaymentCancellable } from './rules.js'
import { findReservation, snapshot, updateIfUnchanged, type Reservation } from './store.js'

/** CONFIRMED and unpaid → PAID, only once payment approved the charge. */
export async function payReservation(deps: ReservationDeps, asked: Asked, id: string): Promise<Reservation> {
  const r = await ownReservation(deps, asked.caller, id)
  const amount = assertPayable(r)
  const receipt = await deps.payment.approve(r.id, r.customerId, amount, asked.cause.correlationId)
  const paid = await deps.transact(asked.cause, async (tx, events) => {
    const next = await updateIfUnchanged(tx, r, { paymentStatus: 'PAID' })
    if (!next) return null
    await events.emit('ReservationPaid', next.id, next.version, {
      reservation: snapshot(next),
      paymentId: receipt.id,
      amount: receipt.amount,
    })
    return next
  })
  if (paid) return paid
  // Changed while payment was charging. If a concurrent payReservation won, the charge is its own
  // (the same payment, by reservation id); otherwise nobody owns the charge: refund it.
  const now = await findReservation(deps.db, r.id)
  if (now?.paymentStatus !== 'PAID')
    await compensate(deps, 'refund after a failed payment', () => deps.payment.refund(r.id, asked.cause.correlationId))
  throw now?.paymentStatus === 'PAID' ? conflict('the reservation is already paid') : changedMeanwhile()
}

/** PAID and not yet lent → refunded, paymentStatus CANCELLED; the reservation stays CONFIRMED. */
export async function cancelPayment(deps: ReservationDeps, asked: Asked, id: string): Promise<Reservation> {
  const r = await ownReservation(deps, asked.caller, id)
  assertPaymentCancellable(r)
  const refund = await deps.payment.refund(r.id, asked.cause.correlationId)
  const cancelled = await deps.transact(asked.cause, async (tx, events) => {
    const next = await updateIfUnchanged(tx, r, { paymentStatus: 'CANCELLED' })
    if (!next) return null
    await events.emit('ReservationPaymentCancelled', next.id, next.version, {
      reservation: snapshot(next),
      paymentId: refund?.id ?? '',
    })
    return next
  })
  if (cancelled) return cancelled
  // Changed between the refund and the commit (e.g. the item was lent meanwhile): charge back.
  const now = await findReservation(deps.db, r.id)
  if (now?.paymentStatus === 'PAID' && r.amount !== null) {
    const amount = r.amount
    await compensate(deps, 'recharge after a failed refund', () =>
      deps.payment.approve(r.id, r.customerId, amount, asked.cause.correlationId),
    )
  }
  throw changedMeanwhile()
}
