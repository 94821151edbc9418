// The payment's rules, as plain functions over plain values: no GraphQL, no database.
import { badInput, forbidden, paymentDeclined, requireId } from '@gdmarket/platform/errors'
import type { PaymentStatus } from '@gdmarket/contracts/payment'
import type { Caller } from '@gdmarket/platform/identity'

export const CUSTOMER_ID_MAX_LENGTH = 200

export interface ApprovalRequest {
  reservationId: string
  customerId: string
  amount: number
}

/**
 * A payment as the caller may see it: its customer sees it, everyone else (the item's owner and
 * anonymous callers included) gets null, as if there were none.
 */
export function payerOnly<P extends { customerId: string }>(payment: P | null, caller: Caller | null): P | null {
  return payment && caller && payment.customerId === caller.userId ? payment : null
}

/** approvePayment and refundPayment are for the reservation subgraph only (it sends the internal secret). */
export function assertInternal(internal: boolean): void {
  if (!internal) throw forbidden('payments are approved and refunded only by GDmarket itself')
}

/** Malformed requests are BAD_USER_INPUT; a well-formed amount over the limit is a decline. */
export function validateApproval(request: ApprovalRequest, maxAmount: number): ApprovalRequest {
  const reservationId = requireId(request.reservationId, 'reservation id')
  const customerId = request.customerId.trim()
  if (customerId.length < 1 || customerId.length > CUSTOMER_ID_MAX_LENGTH)
    throw badInput(`customer id must be 1 to ${CUSTOMER_ID_MAX_LENGTH} characters`)
  if (!Number.isInteger(request.amount) || request.amount < 0) throw badInput('amount must be a non-negative integer')
  if (request.amount > maxAmount) throw paymentDeclined(`amounts over ${maxAmount} are declined`)
  return { reservationId, customerId, amount: request.amount }
}

/**
 * What approving does given the reservation's existing payment: charge anew, keep the payment that
 * is already PAID (a retry must not charge twice), or charge again a refunded (CANCELLED) one,
 * reusing its row because a reservation has at most one payment.
 */
export function approvalAction(existing: { status: PaymentStatus } | null): 'charge' | 'keep' | 'recharge' {
  if (!existing) return 'charge'
  return existing.status === 'PAID' ? 'keep' : 'recharge'
}

/** What refunding does: nothing to refund, already refunded, or refund now. */
export function refundAction(existing: { status: PaymentStatus } | null): 'none' | 'keep' | 'refund' {
  if (!existing) return 'none'
  return existing.status === 'PAID' ? 'refund' : 'keep'
}
