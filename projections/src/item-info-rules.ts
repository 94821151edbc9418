// The ItemInfo read model's decisions as pure functions: given the current row (or null) and one
// event, the row to write, or null when the event does not concern it. No database, no NATS.
import type { EventEnvelope } from '@gdmarket/platform/events'
import type { GeoPoint, ItemEvents, ItemSnapshot, ItemStatus, RentalStatus } from '@gdmarket/contracts/item'
import type { PaymentStatus } from '@gdmarket/contracts/payment'
import type { ReservationEvents, ReservationSnapshot, ReservationStatus } from '@gdmarket/contracts/reservation'

export interface ItemInfoRow {
  itemId: string
  itemName: string
  itemPrice: number
  ownerId: string
  itemStatus: ItemStatus
  rentalStatus: RentalStatus
  deleted: boolean
  reservationId: string | null
  customerId: string | null
  customerName: string | null
  reservationStatus: ReservationStatus | null
  paymentStatus: PaymentStatus | null
  /** Where the item can be picked up, both or neither. */
  lat: number | null
  lng: number | null
  version: number
  /** Bookkeeping, never shown: the source versions applied and the stream position. */
  itemVersion: number
  reservationVersion: number | null
  lastSeq: bigint
  updatedAt: Date
  /** This state's position in the ItemInfo change feed (see store.ts: set again once published). */
  cursor: bigint
}

/** What to write: `changed` is false when only bookkeeping moved (no version bump, no notification). */
export type Outcome = { row: ItemInfoRow; changed: boolean } | null

type Decide<P> = (current: ItemInfoRow | null, event: EventEnvelope<P>, seq: number) => Outcome

const SHOWN = [
  'itemName',
  'itemPrice',
  'ownerId',
  'itemStatus',
  'rentalStatus',
  'deleted',
  'reservationId',
  'customerId',
  'customerName',
  'reservationStatus',
  'paymentStatus',
  'lat',
  'lng',
] as const

/** Bookkeeping always advances; version and updatedAt only when something shown changed. */
function settle(current: ItemInfoRow | null, next: ItemInfoRow, event: EventEnvelope<unknown>, seq: number): Outcome {
  const changed = !current || SHOWN.some(k => current[k] !== next[k])
  return {
    changed,
    row: {
      ...next,
      lastSeq: BigInt(seq),
      version: changed ? (current?.version ?? 0) + 1 : next.version,
      // The event's time, not the clock's, so a replay rebuilds the very same rows.
      updatedAt: changed ? new Date(event.occurredAt) : next.updatedAt,
    },
  }
}

function blank(item: ItemSnapshot): ItemInfoRow {
  return {
    itemId: item.itemId,
    itemName: item.name,
    itemPrice: item.price,
    ownerId: item.ownerId,
    itemStatus: item.status,
    rentalStatus: item.rentalStatus,
    deleted: item.deleted,
    reservationId: null,
    customerId: null,
    customerName: null,
    reservationStatus: null,
    paymentStatus: null,
    lat: null,
    lng: null,
    version: 0,
    itemVersion: 0,
    reservationVersion: null,
    lastSeq: 0n,
    updatedAt: new Date(0),
    cursor: 0n,
  }
}

/**
 * Every item event but ItemHoldRejected carries the item's full snapshot, so an event for an item
 * never seen (a stream trimmed or replayed from mid-way) creates the row instead of being lost.
 */
function fromItem<P extends { item: ItemSnapshot }>(
  adjust: (row: ItemInfoRow, data: P) => ItemInfoRow = row => row,
): Decide<P> {
  return (current, event, seq) => {
    if (current && event.aggregateVersion <= current.itemVersion) return null
    const s = event.data.item
    const base = current ?? blank(s)
    const next = {
      ...base,
      itemName: s.name,
      itemPrice: s.price,
      ownerId: s.ownerId,
      itemStatus: s.status,
      rentalStatus: s.rentalStatus,
      deleted: s.deleted,
      // Events from before items had a location carry none: keep what the row has.
      ...(s.location === undefined ? {} : { lat: s.location?.lat ?? null, lng: s.location?.lng ?? null }),
    }
    return settle(current, { ...adjust(next, event.data), itemVersion: event.aggregateVersion }, event, seq)
  }
}

/** Reservation events only refine the reservation the item shows, and never with an older state. */
const fromReservation: Decide<{ reservation: ReservationSnapshot }> = (current, event, seq) => {
  const r = event.data.reservation
  if (!current || current.reservationId !== r.reservationId) return null
  if (event.aggregateVersion <= (current.reservationVersion ?? 0)) return null
  const next = {
    ...current,
    customerId: r.customerId,
    customerName: r.customerName,
    reservationStatus: r.status,
    paymentStatus: r.paymentStatus,
  }
  return settle(current, { ...next, reservationVersion: event.aggregateVersion }, event, seq)
}

const ignore: Decide<unknown> = () => null

export const decisions: { [T in keyof ItemEvents]: Decide<ItemEvents[T]> } & {
  [T in keyof ReservationEvents]: Decide<ReservationEvents[T]>
} = {
  ItemRegistered: fromItem(),
  ItemDeleted: fromItem(),
  ItemLent: fromItem(),
  ItemReturned: fromItem(),
  // The hold makes its reservation the one shown; version 0 lets that reservation's next events apply.
  ItemHeld: fromItem((row, d) =>
    row.reservationId === d.reservationId
      ? row
      : {
          ...row,
          reservationId: d.reservationId,
          customerId: d.customerId,
          customerName: d.customerName,
          reservationStatus: 'CONFIRMED',
          paymentStatus: 'NOT_PAID',
          reservationVersion: 0,
        },
  ),
  // Only a heard cancellation releases a hold; if that cancellation reached the stream before the
  // hold (cancelled while PENDING), it was ignored then, and this is the last word on it.
  ItemReleased: fromItem((row, d) =>
    row.reservationId === d.reservationId &&
    (row.reservationStatus === 'CONFIRMED' || row.reservationStatus === 'PENDING')
      ? { ...row, reservationStatus: 'CANCELLED' }
      : row,
  ),
  // Changes nothing: the item stays as it was and the rejected reservation never held it.
  ItemHoldRejected: ignore,
  // A request always precedes its hold, so it can never be the reservation shown.
  ReservationRequested: ignore,
  ReservationConfirmed: fromReservation,
  ReservationRejected: fromReservation,
  ReservationCancelled: fromReservation,
  ReservationPaid: fromReservation,
  ReservationPaymentCancelled: fromReservation,
  ReservationRentalChanged: fromReservation,
}

/** The catalogues this read model is kept from (payment events change no ItemInfo). */
export type ProjectedEvents = ItemEvents & ReservationEvents
export type ProjectedType = keyof typeof decisions
export const isProjected = (type: string): type is ProjectedType => Object.hasOwn(decisions, type)
/** Whether an event can change an ItemInfo at all; the rest are acknowledged without touching the database. */
export const canChange = (type: string): boolean => isProjected(type) && decisions[type] !== ignore
/** The types the consumer handles: those that can change an ItemInfo. */
export const changingTypes = Object.keys(decisions).filter(canChange)
const isReservationEvent = (type: string) => type.startsWith('Reservation')

/** The item an event belongs to (the consumer's ordering key), null for events this model ignores. */
export function itemIdOf(event: EventEnvelope): string | null {
  if (!isProjected(event.type)) return null
  if (!isReservationEvent(event.type)) return event.aggregateId
  return (event as EventEnvelope<{ reservation: { itemId: string } }>).data.reservation.itemId
}

/** The decision for any event; null for types this model does not project (payments). */
export function decide(current: ItemInfoRow | null, event: EventEnvelope, seq: number): Outcome {
  if (!isProjected(event.type)) return null
  const fn = decisions[event.type] as Decide<unknown>
  return fn(current, event, seq)
}

/** The item's fields this read model provides (projections.graphql's @provides): fixed at registration. */
export interface ProvidedItem {
  id: string
  name: string
  price: number
  ownerId: string
}

/** ItemInfo as the GraphQL type shows it: the query result and the change notification alike. */
export type ItemInfoView = Omit<
  ItemInfoRow,
  'itemVersion' | 'reservationVersion' | 'lastSeq' | 'updatedAt' | 'lat' | 'lng' | 'cursor'
> & {
  item: ProvidedItem | null
  location: GeoPoint | null
  updatedAt: string
  /** A decimal string: feed positions outgrow a GraphQL Int, and clients compare them as given. */
  cursor: string
}

export function viewOf(row: ItemInfoRow): ItemInfoView {
  const { itemVersion: _i, reservationVersion: _r, lastSeq: _s, updatedAt, lat, lng, cursor, ...shown } = row
  return {
    ...shown,
    // A deleted item is null here: the gateway would otherwise return the stub without asking the item subgraph.
    item: row.deleted ? null : { id: row.itemId, name: row.itemName, price: row.itemPrice, ownerId: row.ownerId },
    location: lat === null || lng === null ? null : { lat, lng },
    updatedAt: updatedAt.toISOString(),
    cursor: cursor.toString(),
  }
}
