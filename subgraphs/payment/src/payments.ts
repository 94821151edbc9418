// The payment use cases the reservation subgraph drives: approve (charge) and refund.
import { setTimeout as sleep } from 'node:timers/promises'
import { conflict, requireId } from '@gdmarket/platform/errors'
import { newId } from '@gdmarket/platform/ids'
import type { PaymentEvents } from '@gdmarket/contracts/payment'
import type { Cause, Transact } from '@gdmarket/platform/outbox'
import { drawLag, type LatencyRange } from './latency.js'
import { approvalAction, assertInternal, refundAction, validateApproval, type ApprovalRequest } from './rules.js'
import {
  createPayment,
  findAttempt,
  findByReservation,
  isDuplicateReservation,
  markRefunded,
  rechargePayment,
  recordAttempt,
  paymentEventData,
  type Payment,
  type PaymentDb,
  type PaymentTx,
} from './store.js'

export interface PaymentDeps {
  db: PaymentDb
  transact: Transact<PaymentTx, PaymentEvents>
  maxAmount: number
  approvalDelayMs: number
  /** Test-only (NODE_ENV=test): latency drawn per call, before or after the commit. */
  testLatency?: LatencyRange | null
}

/** Who asks: only requests carrying the internal secret may move money. */
export interface PaymentRequest {
  internal: boolean
  cause: Cause
}

/** One call of the reservation subgraph: payment does each attempt at most once. */
export interface Attempt {
  reservationId: string
  attemptId: string
}

/** A unique-key race (two first approvals of a reservation, two arrivals of one attempt): run again, once. */
async function onceMore<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (e) {
    if (isDuplicateReservation(e)) return run()
    throw e
  }
}

/** Runs `run` inside the test-only latency drawn for this call (before and/or after its commit). */
async function lagged<T>(deps: PaymentDeps, run: () => Promise<T>): Promise<T> {
  const lag = drawLag(deps.testLatency ?? null)
  if (lag.beforeMs) await sleep(lag.beforeMs)
  const result = await run()
  if (lag.afterMs) await sleep(lag.afterMs)
  return result
}

/**
 * Charges the customer for a reservation, at most once per reservation (a PAID payment is kept)
 * and at most once per attempt: a repeated attempt gets the payment as it is, and an attempt the
 * reconciler closed is refused (CONFLICT), so a call that arrives after its answer was given up on
 * can no longer charge.
 */
export async function approvePayment(
  deps: PaymentDeps,
  request: PaymentRequest,
  input: ApprovalRequest & { attemptId: string },
): Promise<Payment> {
  assertInternal(request.internal)
  const { reservationId, customerId, amount } = validateApproval(input, deps.maxAmount)
  const attemptId = requireId(input.attemptId, 'attempt id')
  if (deps.approvalDelayMs > 0) await sleep(deps.approvalDelayMs)
  return lagged(deps, () =>
    onceMore(() =>
      deps.transact(request.cause, async (tx, events) => {
        const existing = await findByReservation(tx, reservationId)
        const seen = await findAttempt(tx, attemptId)
        if (seen?.kind === 'CLOSED') throw conflict('this payment attempt was closed; nothing was charged')
        if (seen && existing) return existing
        await recordAttempt(tx, attemptId, reservationId, 'CHARGE')
        const action = approvalAction(existing)
        if (action === 'keep' && existing) return existing
        const payment =
          action === 'recharge' && existing
            ? await rechargePayment(tx, existing.id, { customerId, amount })
            : await createPayment(tx, { id: newId(), reservationId, customerId, amount })
        await events.emit('PaymentApproved', payment.id, payment.version, paymentEventData(payment))
        return payment
      }),
    ),
  )
}

/** Refunds a reservation's payment, once per attempt; refunding twice is harmless, and no payment means null. */
export async function refundPayment(
  deps: PaymentDeps,
  request: PaymentRequest,
  input: Attempt,
): Promise<Payment | null> {
  assertInternal(request.internal)
  const id = requireId(input.reservationId, 'reservation id')
  const attemptId = requireId(input.attemptId, 'attempt id')
  return lagged(deps, () =>
    onceMore(() =>
      deps.transact(request.cause, async (tx, events) => {
        const existing = await findByReservation(tx, id)
        // A repeated refund attempt must not refund a charge made after it (a later payReservation).
        if (await findAttempt(tx, attemptId)) return existing
        await recordAttempt(tx, attemptId, id, 'REFUND')
        const action = refundAction(existing)
        if (action !== 'refund' || !existing) return existing
        const refunded = await markRefunded(tx, existing.id)
        await events.emit('PaymentRefunded', refunded.id, refunded.version, paymentEventData(refunded))
        return refunded
      }),
    ),
  )
}

/**
 * The reconciler's question about a charge whose answer was lost: closes the attempt if it never
 * ran (from now on it is refused), then answers the reservation's payment as it is, the truth the
 * reservation settles to.
 */
export async function closePaymentAttempt(
  deps: PaymentDeps,
  request: PaymentRequest,
  input: Attempt,
): Promise<Payment | null> {
  assertInternal(request.internal)
  const id = requireId(input.reservationId, 'reservation id')
  const attemptId = requireId(input.attemptId, 'attempt id')
  return onceMore(() =>
    deps.transact(request.cause, async tx => {
      if (!(await findAttempt(tx, attemptId))) await recordAttempt(tx, attemptId, id, 'CLOSED')
      return findByReservation(tx, id)
    }),
  )
}
