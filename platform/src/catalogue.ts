// The payloads of GDmarket's events: one place for producers and consumers (docs/events.md
// describes each). Events carry the full state of their aggregate after the change, so a consumer
// that sees only the newest event of an aggregate still ends in the right state.
export type ItemStatus = 'RENTABLE' | 'NOT_RENTABLE'
export type RentalStatus = 'NOT_RENTING' | 'RENTING' | 'RETURNED'
export type ReservationStatus = 'PENDING' | 'CONFIRMED' | 'REJECTED' | 'CANCELLED'
export type PaymentStatus = 'NOT_PAID' | 'PAID' | 'CANCELLED'

export interface ItemSnapshot {
  itemId: string
  name: string
  price: number
  ownerId: string
  status: ItemStatus
  rentalStatus: RentalStatus
  deleted: boolean
}

export interface ReservationSnapshot {
  reservationId: string
  itemId: string
  customerId: string
  customerName: string
  status: ReservationStatus
  paymentStatus: PaymentStatus
  rentalStatus: RentalStatus
}

/** Events of the item context (aggregate: the item). */
export interface ItemEvents {
  ItemRegistered: { item: ItemSnapshot }
  ItemDeleted: { item: ItemSnapshot }
  ItemHeld: { item: ItemSnapshot; reservationId: string; customerId: string; customerName: string }
  /** Not a change of the item: its aggregateVersion is the item's current one (0 if unknown). */
  ItemHoldRejected: { itemId: string; reservationId: string; reason: 'NOT_FOUND' | 'DELETED' | 'NOT_RENTABLE' }
  ItemReleased: { item: ItemSnapshot; reservationId: string }
  ItemLent: { item: ItemSnapshot; reservationId: string }
  ItemReturned: { item: ItemSnapshot; reservationId: string }
}

/** Events of the reservation context (aggregate: the reservation). */
export interface ReservationEvents {
  ReservationRequested: { reservation: ReservationSnapshot }
  ReservationConfirmed: { reservation: ReservationSnapshot; amount: number }
  ReservationRejected: { reservation: ReservationSnapshot; reason: string }
  ReservationCancelled: { reservation: ReservationSnapshot; refunded: boolean }
  ReservationPaid: { reservation: ReservationSnapshot; paymentId: string; amount: number }
  ReservationPaymentCancelled: { reservation: ReservationSnapshot; paymentId: string }
  ReservationRentalChanged: { reservation: ReservationSnapshot }
}

/** Events of the payment context (aggregate: the payment). */
export interface PaymentEvents {
  PaymentApproved: { paymentId: string; reservationId: string; customerId: string; amount: number }
  PaymentRefunded: { paymentId: string; reservationId: string; customerId: string; amount: number }
}
