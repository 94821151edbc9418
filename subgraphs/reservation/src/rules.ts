// The reservation's rules, as plain functions over plain values: no GraphQL, no database.
import { conflict, forbidden } from '@gdmarket/platform/errors'
import type { RentalStatus } from '@gdmarket/contracts/item'
import type { PaymentStatus } from '@gdmarket/contracts/payment'
import type { ReservationStatus } from '@gdmarket/contracts/reservation'

export interface ReservationState {
  customerId: string
  ownerId: string | null
  status: ReservationStatus
  paymentStatus: PaymentStatus
  rentalStatus: RentalStatus
  amount: number | null
}

export function assertCustomer(r: ReservationState, userId: string): void {
  if (r.customerId !== userId) throw forbidden('only the reservation’s customer may do this')
}

const isFinal = (r: ReservationState) => r.status === 'CANCELLED' || r.status === 'REJECTED'
const isRented = (r: ReservationState) => r.rentalStatus !== 'NOT_RENTING'

export function assertCancellable(r: ReservationState): void {
  if (isRented(r)) throw conflict('the item has been rented; the reservation can no longer be cancelled')
  if (isFinal(r)) throw conflict(`the reservation is already ${r.status}`)
}

/** Paying needs a CONFIRMED, unpaid (or refunded) reservation whose item has not been handed over. */
export function assertPayable(r: ReservationState): number {
  if (r.status !== 'CONFIRMED') throw conflict(`only a CONFIRMED reservation can be paid; it is ${r.status}`)
  if (r.paymentStatus === 'PAID') throw conflict('the reservation is already paid')
  if (isRented(r)) throw conflict('the item has been rented already')
  if (r.amount === null) throw conflict('the price of the reservation is not known yet')
  return r.amount
}

export function assertPaymentCancellable(r: ReservationState): void {
  if (r.paymentStatus !== 'PAID') throw conflict('the reservation is not paid')
  if (isRented(r)) throw conflict('the item has been lent; the payment can no longer be cancelled')
}

/** The customer and the item's owner see a reservation; nobody else (not even that it exists). */
export function canSee(r: ReservationState, userId: string | null): boolean {
  return userId !== null && (r.customerId === userId || r.ownerId === userId)
}

// Saga transitions: whether an item event may still change the reservation (false when it is
// already decided, or the event is older than what the reservation shows).

/** ItemHeld decides a PENDING reservation only; a cancelled one stays cancelled (the item releases itself). */
export const confirmsHold = (r: ReservationState): boolean => r.status === 'PENDING'

/** ItemHoldRejected likewise decides only a PENDING reservation. */
export const rejectsHold = (r: ReservationState): boolean => r.status === 'PENDING'

const RENTAL_ORDER: readonly RentalStatus[] = ['NOT_RENTING', 'RENTING', 'RETURNED']

/** Where the thing is only moves forward: a late ItemLent never undoes an ItemReturned. */
export function advanceRental(current: RentalStatus, heard: RentalStatus): RentalStatus | null {
  return RENTAL_ORDER.indexOf(heard) > RENTAL_ORDER.indexOf(current) ? heard : null
}
