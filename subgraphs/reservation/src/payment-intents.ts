// Payment is the source of truth for money. Before the reservation calls payment it records the
// call (its intent and an attempt id) under the row guard; the answer settles it. When the answer is
// lost (timeout, crash, circuit open mid-call) the intent stays and the reconciler settles it from
// what payment really did. While an intent is open the reservation refuses every other change of its
// money or rental (CONFLICT), so a lend can never slip in between a refund and its settlement.
import { randomUUID } from 'node:crypto'
import { AppError, notFound, paymentUnavailable } from '@gdmarket/platform/errors'
import { isOutage } from '@gdmarket/platform/outage'
import type { Cause, EventSink } from '@gdmarket/platform/outbox'
import type { ReservationEvents } from '@gdmarket/contracts/reservation'
import { PaymentUnavailable, type PaymentReceipt } from './payment-client.js'
import { changedMeanwhile, type ReservationAnswer, type ReservationDeps } from './reservations.js'
import {
  findReservation,
  NO_INTENT,
  snapshot,
  updateIfAttempt,
  updateIfUnchanged,
  type Reservation,
  type ReservationTx,
} from './store.js'

export type IntentKind = 'CHARGE' | 'REFUND'

/** Records that payment is about to be called; the loser of a race for the row gets CONFLICT. */
export async function recordIntent(
  deps: ReservationDeps,
  cause: Cause,
  r: Reservation,
  kind: IntentKind,
  cancelAfterRefund = false,
): Promise<Reservation> {
  const pending = await deps.transact(cause, tx =>
    updateIfUnchanged(tx, r, {
      paymentIntent: kind,
      paymentAttemptId: randomUUID(),
      paymentIntentAt: new Date(),
      cancelAfterRefund,
    }),
  )
  if (!pending) throw changedMeanwhile()
  return pending
}

/**
 * Drives a reservation waiting on its payment attempt to what payment reports (its payment after
 * the call, or null when it has none). Null when the attempt was settled already (by the request or
 * the reconciler, from the same truth).
 */
export function settle(
  deps: ReservationDeps,
  cause: Cause,
  pending: Reservation,
  payment: PaymentReceipt | null,
  answer?: ReservationAnswer,
): Promise<Reservation | null> {
  return deps.transact(cause, async (tx, events) => {
    const next = await settleRow(tx, events, pending, payment)
    if (next) await answer?.(tx, next)
    return next
  })
}

async function settleRow(
  tx: ReservationTx,
  events: EventSink<ReservationEvents>,
  pending: Reservation,
  payment: PaymentReceipt | null,
): Promise<Reservation | null> {
  const paid = payment?.status === 'PAID'
  {
    if (pending.paymentIntent === 'CHARGE') {
      const next = await updateIfAttempt(tx, pending, { ...NO_INTENT, ...(paid ? { paymentStatus: 'PAID' } : {}) })
      if (next && paid && payment)
        await events.emit('ReservationPaid', next.id, next.version, {
          reservation: snapshot(next),
          paymentId: payment.id,
          amount: payment.amount,
        })
      return next
    }
    // A refund answered: whatever charge there was is refunded now.
    if (paid) throw new Error('payment answered a refund with a PAID payment; the reconciler retries')
    const paymentStatus = payment ? 'CANCELLED' : pending.paymentStatus === 'PAID' ? 'NOT_PAID' : pending.paymentStatus
    if (pending.cancelAfterRefund) {
      const next = await updateIfAttempt(tx, pending, { ...NO_INTENT, paymentStatus, status: 'CANCELLED' })
      if (next)
        await events.emit('ReservationCancelled', next.id, next.version, {
          reservation: snapshot(next),
          refunded: payment !== null && pending.paymentStatus !== 'CANCELLED',
        })
      return next
    }
    const next = await updateIfAttempt(tx, pending, { ...NO_INTENT, paymentStatus })
    if (next)
      await events.emit('ReservationPaymentCancelled', next.id, next.version, {
        reservation: snapshot(next),
        paymentId: payment?.id ?? '',
      })
    return next
  }
}

/** Payment certainly did nothing (it declined, or was never reached): the intent is dropped. */
async function abandon(deps: ReservationDeps, cause: Cause, pending: Reservation): Promise<void> {
  await deps.transact(cause, tx => updateIfAttempt(tx, pending, NO_INTENT))
}

const certainlyNothing = (e: unknown): boolean =>
  (e instanceof AppError && e.code === 'PAYMENT_DECLINED') || (e instanceof PaymentUnavailable && e.notSent)

export const SETTLE_LATER = 'payment answered; the reservation shows what it did within seconds'

/**
 * Makes the call of a recorded intent and settles it from the answer. A lost answer, or an answer
 * the reservation database cannot record right now, leaves the intent for the reconciler and the
 * caller gets PAYMENT_UNAVAILABLE: within seconds the reservation shows what payment really did.
 */
export async function callAndSettle(
  deps: ReservationDeps,
  cause: Cause,
  pending: Reservation,
  call: (attemptId: string) => Promise<PaymentReceipt | null>,
  answer?: ReservationAnswer,
): Promise<Reservation> {
  const attemptId = pending.paymentAttemptId
  if (!attemptId) throw new Error('callAndSettle needs a recorded intent')
  let payment: PaymentReceipt | null
  try {
    payment = await call(attemptId)
  } catch (e) {
    if (certainlyNothing(e)) await abandon(deps, cause, pending)
    throw e
  }
  const settled = await settle(deps, cause, pending, payment, answer).catch((e: unknown) => {
    // Payment has acted by now: an outage here must not read as "nothing changed" (SERVICE_UNAVAILABLE).
    // The intent stays, and the reconciler settles it from what payment did within seconds.
    if (isOutage(e)) throw paymentUnavailable(SETTLE_LATER)
    throw e
  })
  if (settled) return settled
  // The reconciler settled it first, from the same answer payment gives everyone.
  const now = await findReservation(deps.db, pending.id)
  if (!now) throw notFound('no such reservation')
  return now
}

/**
 * Records a refund intent for the reservation and asks payment to refund whatever charge exists;
 * `cancelAfterRefund`: the reservation is CANCELLED once payment has answered.
 */
export async function refundAndSettle(
  deps: ReservationDeps,
  cause: Cause,
  r: Reservation,
  answer?: ReservationAnswer,
  cancelAfterRefund = false,
): Promise<Reservation> {
  const pending = await recordIntent(deps, cause, r, 'REFUND', cancelAfterRefund)
  return callAndSettle(
    deps,
    cause,
    pending,
    attemptId => deps.payment.refund({ reservationId: r.id, attemptId }, cause.correlationId),
    answer,
  )
}
