// The reservation context's published language: its states and the events the reservation
// subgraph emits (docs/events.md). Each carries the reservation's full state after the change.
import { eventCatalogue, type EventOf } from '@gdmarket/platform/events'
import type { RentalStatus } from './item.js'
import type { PaymentStatus } from './payment.js'

export type ReservationStatus = 'PENDING' | 'CONFIRMED' | 'REJECTED' | 'CANCELLED'

export interface ReservationSnapshot {
  reservationId: string
  itemId: string
  customerId: string
  customerName: string
  status: ReservationStatus
  paymentStatus: PaymentStatus
  rentalStatus: RentalStatus
}

/** Events of the reservation context (aggregate: the reservation), by type. */
export interface ReservationEvents {
  ReservationRequested: { reservation: ReservationSnapshot }
  ReservationConfirmed: { reservation: ReservationSnapshot; amount: number }
  ReservationRejected: { reservation: ReservationSnapshot; reason: string }
  ReservationCancelled: { reservation: ReservationSnapshot; refunded: boolean }
  ReservationPaid: { reservation: ReservationSnapshot; paymentId: string; amount: number }
  ReservationPaymentCancelled: { reservation: ReservationSnapshot; paymentId: string }
  ReservationRentalChanged: { reservation: ReservationSnapshot }
}

/** Any reservation event: a union discriminated by `type`. */
export type ReservationEvent = EventOf<ReservationEvents>

/** Subjects `<prefix>.reservation.<Type>`. */
export const reservationEvents = eventCatalogue<ReservationEvents>('reservation')
