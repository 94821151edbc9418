// The item context's published language: its states and the events the item subgraph emits
// (docs/events.md describes each). Events carry the full state of their aggregate after the
// change, so a consumer that sees only the newest event of an item still ends in the right state.
import { eventCatalogue, type EventOf } from '@gdmarket/platform/events'

export type ItemStatus = 'RENTABLE' | 'NOT_RENTABLE'
export type RentalStatus = 'NOT_RENTING' | 'RENTING' | 'RETURNED'

/** WGS 84 degrees. */
export interface GeoPoint {
  lat: number
  lng: number
}

export interface ItemSnapshot {
  itemId: string
  name: string
  price: number
  ownerId: string
  status: ItemStatus
  rentalStatus: RentalStatus
  deleted: boolean
  /** Where it can be picked up; absent in events written before items had a location. */
  location?: GeoPoint | null
  area?: string | null
}

/** Why a reservation could not hold its item. */
export type HoldRefusal = 'NOT_FOUND' | 'DELETED' | 'NOT_RENTABLE'

/** Events of the item context (aggregate: the item), by type. */
export interface ItemEvents {
  ItemRegistered: { item: ItemSnapshot }
  ItemDeleted: { item: ItemSnapshot }
  ItemHeld: { item: ItemSnapshot; reservationId: string; customerId: string; customerName: string }
  /** Not a change of the item: its aggregateVersion is the item's current one (0 if unknown). */
  ItemHoldRejected: { itemId: string; reservationId: string; reason: HoldRefusal }
  ItemReleased: { item: ItemSnapshot; reservationId: string }
  ItemLent: { item: ItemSnapshot; reservationId: string }
  ItemReturned: { item: ItemSnapshot; reservationId: string }
}

/** Any item event: a union discriminated by `type`. */
export type ItemEvent = EventOf<ItemEvents>

/** Subjects `<prefix>.item.<Type>`. */
export const itemEvents = eventCatalogue<ItemEvents>('item')
