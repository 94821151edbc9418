// The payment use cases of a reservation: pay it and cancel (refund) the payment. Each records its
// intent under the reservation's row guard before payment is called (payment-intents.ts), so a
// concurrent lendItem or cancellation either wins the row first or gets CONFLICT.
import { callAndSettle, recordIntent, refundAndSettle } from './payment-intents.js'
import { ownReservation, type Asked, type ReservationDeps } from './reservations.js'
import { assertPayable, assertPaymentCancellable } from './rules.js'
import type { Reservation } from './store.js'

/** CONFIRMED and unpaid → PAID, only once payment approved the charge. */
export async function payReservation(deps: ReservationDeps, asked: Asked, id: string): Promise<Reservation> {
  const r = await ownReservation(deps, asked.caller, id)
  const amount = assertPayable(r)
  const pending = await recordIntent(deps, asked.cause, r, 'CHARGE')
  return callAndSettle(
    deps,
    asked.cause,
    pending,
    attemptId =>
      deps.payment.approve(
        { reservationId: r.id, customerId: r.customerId, amount, attemptId },
        asked.cause.correlationId,
      ),
    asked.answer,
  )
}

/** PAID and not yet lent → refunded, paymentStatus CANCELLED; the reservation stays CONFIRMED. */
export async function cancelPayment(deps: ReservationDeps, asked: Asked, id: string): Promise<Reservation> {
  const r = await ownReservation(deps, asked.caller, id)
  assertPaymentCancellable(r)
  return refundAndSettle(deps, asked.cause, r, asked.answer)
}
