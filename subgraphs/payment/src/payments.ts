// The payment use cases the reservation subgraph drives: approve (charge) and refund.
import { setTimeout as sleep } from 'node:timers/promises'
import { requireId } from '@gdmarket/platform/errors'
import { newId } from '@gdmarket/platform/ids'
import type { PaymentEvents } from '@gdmarket/contracts/payment'
import type { Cause, Transact } from '@gdmarket/platform/outbox'
import { drawLag, type LatencyRange } from './latency.js'
import { approvalAction, assertInternal, refundAction, validateApproval, type ApprovalRequest } from './rules.js'
import {
  createPayment,
  findByReservation,
  isDuplicateReservation,
  markRefunded,
  paymentEventData,
  rechargePayment,
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

/**
 * Charges the customer for a reservation, at most once per reservation: the reservation id is the
 * idempotency key, so a retry after a timeout gets the payment already made.
 */
export async function approvePayment(
  deps: PaymentDeps,
  request: PaymentRequest,
  input: ApprovalRequest,
): Promise<Payment> {
  assertInternal(request.internal)
  const { reservationId, customerId, amount } = validateApproval(input, deps.maxAmount)
  if (deps.approvalDelayMs > 0) await sleep(deps.approvalDelayMs)
  const lag = drawLag(deps.testLatency ?? null)
  if (lag.beforeMs) await sleep(lag.beforeMs)
  const approve = () =>
    deps.transact(request.cause, async (tx, events) => {
      const existing = await findByReservation(tx, reservationId)
      const action = approvalAction(existing)
      if (action === 'keep' && existing) return existing
      const payment =
        action === 'recharge' && existing
          ? await rechargePayment(tx, existing.id, { customerId, amount })
          : await createPayment(tx, { id: newId(), reservationId, customerId, amount })
      await events.emit('PaymentApproved', payment.id, payment.version, paymentEventData(payment))
      return payment
    })
  let payment: Payment
  try {
    payment = await approve()
  } catch (e) {
    // A concurrent first approval inserted the row between our read and our insert: take its result.
    if (!isDuplicateReservation(e)) throw e
    payment = await approve()
  }
  if (lag.afterMs) await sleep(lag.afterMs)
  return payment
}

/** Refunds a reservation's payment; refunding twice is harmless, and no payment means null. */
export async function refundPayment(
  deps: PaymentDeps,
  request: PaymentRequest,
  reservationId: string,
): Promise<Payment | null> {
  assertInternal(request.internal)
  const id = requireId(reservationId, 'reservation id')
  const lag = drawLag(deps.testLatency ?? null)
  if (lag.beforeMs) await sleep(lag.beforeMs)
  const result = await deps.transact(request.cause, async (tx, events) => {
    const existing = await findByReservation(tx, id)
    const action = refundAction(existing)
    if (action !== 'refund' || !existing) return existing
    const refunded = await markRefunded(tx, existing.id)
    await events.emit('PaymentRefunded', refunded.id, refunded.version, paymentEventData(refunded))
    return refunded
  })
  if (lag.afterMs) await sleep(lag.afterMs)
  return result
}
