// Thin: read the context, call a use case.
import DataLoader from 'dataloader'
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js'
import type { RequestContext } from '@gdmarket/platform/subgraph'
import { approvePayment, refundPayment, type PaymentDeps, type PaymentRequest } from './payments.js'
import { listPayments, paymentsByIds, paymentsByReservationIds, type Payment } from './store.js'

export interface PaymentContext extends RequestContext {
  deps: PaymentDeps
  payments: DataLoader<string, Payment | null>
  paymentOfReservation: DataLoader<string, Payment | null>
}

export function paymentContext(request: RequestContext, deps: PaymentDeps): PaymentContext {
  return {
    ...request,
    deps,
    payments: new DataLoader(ids => paymentsByIds(deps.db, ids)),
    paymentOfReservation: new DataLoader(ids => paymentsByReservationIds(deps.db, ids)),
  }
}

const asked = (ctx: PaymentContext): PaymentRequest => ({
  internal: ctx.internal,
  cause: { correlationId: ctx.correlationId },
})

interface ReservationRef {
  id: string
}

export const resolvers: GraphQLResolverMap<PaymentContext> = {
  Query: {
    payments: (_: unknown, _args: unknown, ctx: PaymentContext) =>
      ctx.caller ? listPayments(ctx.deps.db, ctx.caller.userId) : [],
  },
  Mutation: {
    approvePayment: (
      _: unknown,
      args: { reservationId: string; customerId: string; amount: number },
      ctx: PaymentContext,
    ) => approvePayment(ctx.deps, asked(ctx), args),
    refundPayment: (_: unknown, args: { reservationId: string }, ctx: PaymentContext) =>
      refundPayment(ctx.deps, asked(ctx), args.reservationId),
  },
  Payment: {
    // The router resolves these references only after the owning subgraph decided the caller may see them.
    __resolveReference: (ref: { id: string }, ctx: PaymentContext) => ctx.payments.load(ref.id),
    reservation: (payment: Payment): ReservationRef => ({ id: payment.reservationId }),
    createdAt: (payment: Payment) => payment.createdAt.toISOString(),
  },
  Reservation: {
    // The reservation subgraph already applied its visibility rule to the reservation being extended.
    __resolveReference: (ref: ReservationRef): ReservationRef => ({ id: ref.id }),
    payment: (ref: ReservationRef, _: unknown, ctx: PaymentContext) => ctx.paymentOfReservation.load(ref.id),
  },
}
