// The reservation's rules, as plain functions over plain values: no GraphQL, no database.
import { conflict, forbidden } from '@gdmarket/platform/errors'
import type { Caller } from '@gdmarket/platform/identity'
import type { RentalStatus } from '@gdmarket/contracts/item'
import type { PaymentStatus } from '@gdmarket/contracts/payment'
import type { ReservationStatus } from '@gdmarket/contracts/reservation'

export interface ReservationState {
  itemId: string
  customerId: string
  ownerId: string | null
  status: ReservationStatus
  paymentStatus: PaymentStatus
  rentalStatus: RentalStatus
  amount: number | null
  /** A payment call not yet settled (see payment-intents.ts); while there is one, nothing else may start. */
  paymentIntent: 'CHARGE' | 'REFUND' | null
}

export function assertCustomer(r: ReservationState, userId: string): void {
  if (r.customerId !== userId) throw forbidden('only the reservation’s customer may do this')
}

const isFinal = (r: ReservationState) => r.status === 'CANCELLED' || r.status === 'REJECTED'
const isRented = (r: ReservationState) => r.rentalStatus !== 'NOT_RENTING'

function assertNotSettling(r: ReservationState): void {
  if (r.paymentIntent !== null)
    throw conflict('a payment of the reservation is being settled; try again in a few seconds')
}

export function assertCancellable(r: ReservationState): void {
  if (isRented(r)) throw conflict('the item has been rented; the reservation can no longer be cancelled')
  if (isFinal(r)) throw conflict(`the reservation is already ${r.status}`)
  assertNotSettling(r)
}

/** Paying needs a CONFIRMED, unpaid (or refunded) reservation whose item has not been handed over. */
export function assertPayable(r: ReservationState): number {
  if (r.status !== 'CONFIRMED') throw conflict(`only a CONFIRMED reservation can be paid; it is ${r.status}`)
  if (r.paymentStatus === 'PAID') throw conflict('the reservation is already paid')
  if (isRented(r)) throw conflict('the item has been rented already')
  if (r.amount === null) throw conflict('the price of the reservation is not known yet')
  assertNotSettling(r)
  return r.amount
}

export function assertPaymentCancellable(r: ReservationState): void {
  if (r.paymentStatus !== 'PAID') throw conflict('the reservation is not paid')
  if (isRented(r)) throw conflict('the item has been lent; the payment can no longer be cancelled')
  assertNotSettling(r)
}

/** The item and its owner, as the item subgraph states them when it asks to lend or take back. */
export interface RentalRequest {
  itemId: string
  ownerId: string
}

function assertSameRental(r: ReservationState, asked: RentalRequest): void {
  if (r.itemId !== asked.itemId) throw conflict('the reservation is not for this item')
  if (r.ownerId !== asked.ownerId) throw forbidden('only the item’s owner may do this')
}

/**
 * lendItem, decided by the reservation against its own state: CONFIRMED, PAID, no payment call
 * being settled, not lent yet. 'already' when this reservation was lent before (a retry, or an item
 * that has not applied the decision yet): the item applies it again, idempotently.
 */
export function lendDecision(r: ReservationState, asked: RentalRequest): 'lend' | 'already' {
  assertSameRental(r, asked)
  if (r.rentalStatus === 'RENTING') return 'already'
  if (r.rentalStatus === 'RETURNED') throw conflict('the item has been returned already')
  if (r.status !== 'CONFIRMED') throw conflict(`the reservation is ${r.status}`)
  assertNotSettling(r)
  if (r.paymentStatus !== 'PAID') throw conflict('the reservation is not paid')
  return 'lend'
}

/** returnItem, decided likewise: only a lent reservation comes back; 'already' when it has. */
export function returnDecision(r: ReservationState, asked: RentalRequest): 'return' | 'already' {
  assertSameRental(r, asked)
  if (r.rentalStatus === 'RETURNED') return 'already'
  if (r.rentalStatus !== 'RENTING') throw conflict('the item is not rented')
  return 'return'
}

/** The customer and the item's owner see a reservation; nobody else (not even that it exists). */
export function canSee(r: ReservationState, caller: Caller | null): boolean {
  return caller !== null && (r.customerId === caller.userId || r.ownerId === caller.userId)
}

// Saga transitions: whether an item event may still change the reservation (false when it is
// already decided, or the event is older than what the reservation shows).

/** The one status ItemHeld decides (the store's confirming statement is conditional on it). */
export const HOLD_DECIDES: ReservationStatus = 'PENDING'

/** ItemHeld decides a PENDING reservation only; a cancelled one stays cancelled (the item releases itself). */
export const confirmsHold = (r: ReservationState): boolean => r.status === HOLD_DECIDES

/** ItemHoldRejected likewise decides only a PENDING reservation. */
export const rejectsHold = (r: ReservationState): boolean => r.status === 'PENDING'
