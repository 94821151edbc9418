// The item's rules, as plain functions over plain values: no GraphQL, no database.
import { forbiddenCharacterAt } from '@gdmarket/platform/input'
import { badInput, conflict, forbidden } from '@gdmarket/platform/errors'
import type { GeoPoint, HoldRefusal, ItemStatus, RentalStatus } from '@gdmarket/contracts/item'

export const NAME_MAX_LENGTH = 200
/** The contract's bounds for near-me search and an item's area. */
export const AREA_MAX_LENGTH = 100
export const NEAR_MAX_RADIUS_KM = 50
export const NEAR_MAX_FIRST = 200

export interface NewItem {
  name: string
  price: number
  location: GeoPoint | null
  area: string | null
}

export interface ItemState {
  ownerId: string
  status: ItemStatus
  rentalStatus: RentalStatus
  holdReservationId: string | null
  deletedAt: Date | null
}

/** `priceMax` is PRICE_MAX from the config: never above what payment approves. */
export function validateNewItem(
  input: { name: string; price: number; location?: GeoPoint | null; area?: string | null },
  priceMax: number,
): NewItem {
  const name = input.name.trim()
  if (name.length < 1 || name.length > NAME_MAX_LENGTH)
    throw badInput(`name must be 1 to ${NAME_MAX_LENGTH} characters`)
  if (!Number.isInteger(input.price) || input.price < 0 || input.price > priceMax)
    throw badInput(`price must be an integer from 0 to ${priceMax}`)
  const location = input.location ? validatePoint(input.location, 'location') : null
  return { name, price: input.price, location, area: validateArea(input.area) }
}

/** WGS 84 degrees: lat -90..90, lng -180..180 (finite numbers; GraphQL Float already excludes NaN). */
export function validatePoint(p: GeoPoint, what: string): GeoPoint {
  if (!Number.isFinite(p.lat) || p.lat < -90 || p.lat > 90) throw badInput(`${what}.lat must be from -90 to 90`)
  if (!Number.isFinite(p.lng) || p.lng < -180 || p.lng > 180) throw badInput(`${what}.lng must be from -180 to 180`)
  return { lat: p.lat, lng: p.lng }
}

/** 0-100 characters after trimming; empty means none. */
export function validateArea(area: string | null | undefined): string | null {
  if (area === null || area === undefined) return null
  const trimmed = area.trim()
  if ([...trimmed].length > AREA_MAX_LENGTH) throw badInput(`area must be at most ${AREA_MAX_LENGTH} characters`)
  if (forbiddenCharacterAt(trimmed) >= 0) throw badInput('area must not contain control characters')
  return trimmed === '' ? null : trimmed
}

export interface NearQuery {
  near: GeoPoint
  radiusKm: number
  status: ItemStatus | null
  first: number
}

/** itemsNear's arguments: 0 < radiusKm <= 50, first 1..200. */
export function validateNear(args: {
  near: GeoPoint
  radiusKm: number
  status?: ItemStatus | null
  first?: number | null
}): NearQuery {
  const near = validatePoint(args.near, 'near')
  if (!Number.isFinite(args.radiusKm) || args.radiusKm <= 0 || args.radiusKm > NEAR_MAX_RADIUS_KM)
    throw badInput(`radiusKm must be more than 0 and at most ${NEAR_MAX_RADIUS_KM}`)
  const first = args.first ?? 50
  if (!Number.isInteger(first) || first < 1 || first > NEAR_MAX_FIRST)
    throw badInput(`first must be from 1 to ${NEAR_MAX_FIRST}`)
  return { near, radiusKm: args.radiusKm, status: args.status ?? null, first }
}

export function assertOwner(item: ItemState, userId: string): void {
  if (item.ownerId !== userId) throw forbidden('only the item’s owner may do this')
}

export function assertDeletable(item: ItemState): void {
  if (item.rentalStatus === 'RENTING') throw conflict('the item is rented')
  if (item.status === 'NOT_RENTABLE' || item.holdReservationId) throw conflict('the item is reserved')
}

/** The item's part of lending; whether the reservation is paid is the reservation's to decide. */
export function assertLendable(item: ItemState, reservationId: string): void {
  if (item.holdReservationId !== reservationId) throw conflict('the reservation does not hold this item')
  if (item.rentalStatus === 'RENTING') throw conflict('the item is already lent')
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
