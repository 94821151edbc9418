// The item's rules, as plain functions over plain values: no GraphQL, no database.
import { badInput, conflict, forbidden } from '@gdmarket/platform/errors'
import type { HoldRefusal, ItemStatus, RentalStatus } from '@gdmarket/contracts/item'

export const NAME_MAX_LENGTH = 200
export const PRICE_MAX = 10_000_000

export interface ItemState {
  ownerId: string
  status: ItemStatus
  rentalStatus: RentalStatus
  holdReservationId: string | null
  holdPaid: boolean
  deletedAt: Date | null
}

export function validateNewItem(input: { name: string; price: number }): { name: string; price: number } {
  const name = input.name.trim()
  if (name.length < 1 || name.length > NAME_MAX_LENGTH)
    throw badInput(`name must be 1 to ${NAME_MAX_LENGTH} characters`)
  if (!Number.isInteger(input.price) || input.price < 0 || input.price > PRICE_MAX)
    throw badInput(`price must be an integer from 0 to ${PRICE_MAX}`)
  return { name, price: input.price }
}

export function assertOwner(item: ItemState, userId: string): void {
  if (item.ownerId !== userId) throw forbidden('only the item’s owner may do this')
}

export function assertDeletable(item: ItemState): void {
  if (item.rentalStatus === 'RENTING') throw conflict('the item is rented')
  if (item.status === 'NOT_RENTABLE' || item.holdReservationId) throw conflict('the item is reserved')
}

export function assertLendable(item: ItemState, reservationId: string): void {
  if (item.holdReservationId !== reservationId) throw conflict('the reservation does not hold this item')
  if (item.rentalStatus === 'RENTING') throw conflict('the item is already lent')
  if (!item.holdPaid) throw conflict('the reservation is not paid')
}

export function assertReturnable(item: ItemState): void {
  if (item.rentalStatus !== 'RENTING') throw conflict('the item is not rented')
}

/** Why a reservation cannot hold the item, or null when it can. */
export function holdRefusal(item: ItemState | null): HoldRefusal | null {
  if (!item) return 'NOT_FOUND'
  if (item.deletedAt) return 'DELETED'
  if (item.status !== 'RENTABLE' || item.rentalStatus === 'RENTING') return 'NOT_RENTABLE'
  return null
}
