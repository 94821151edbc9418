// The payment context's published language: payment states and the events the payment subgraph
// emits (docs/events.md).
import { eventCatalogue, type EventOf } from '@gdmarket/platform/events'

export type PaymentStatus = 'NOT_PAID' | 'PAID' | 'CANCELLED'

export interface PaymentFacts {
  paymentId: string
  reservationId: string
  customerId: string
  amount: number
}

/** Events of the payment context (aggregate: the payment), by type. */
export interface PaymentEvents {
  PaymentApproved: PaymentFacts
  PaymentRefunded: PaymentFacts
}

/** Any payment event: a union discriminated by `type`. */
export type PaymentEvent = EventOf<PaymentEvents>

/** Subjects `<prefix>.payment.<Type>`. */
export const paymentEvents = eventCatalogue<PaymentEvents>('payment')
