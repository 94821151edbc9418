// Thin: read the context, call a use case.
import DataLoader from 'dataloader'
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js'
import type { RequestContext } from '@gdmarket/platform/subgraph'
import { referenceId } from '@gdmarket/platform/errors'
import { readPage, type PageArgs } from '@gdmarket/platform/paging'
import { approvePayment, refundPayment, type PaymentDeps, type PaymentRequest } from './payments.js'
import { payerOnly } from './rules.js'
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
    payments: (_: unknown, args: PageArgs, ctx: PaymentContext) => {
      const page = readPage(args)
      return ctx.caller ? listPayments(ctx.deps.db, ctx.caller.userId, page) : []
    },
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
  // Entity references are checked like payments(): a payment is shown to the customer who paid it
  // and to nobody else, whatever id or reservation id a representation names.
  Payment: {
    __resolveReference: async (ref: { id: string }, ctx: PaymentContext) => {
      const id = referenceId(ref.id)
      return id ? payerOnly(await ctx.payments.load(id), ctx.caller) : null
    },
    reservation: (payment: Payment): ReservationRef => ({ id: payment.reservationId }),
    createdAt: (payment: Payment) => payment.createdAt.toISOString(),
  },
  Reservation: {
    __resolveReference: (ref: ReservationRef): ReservationRef => ({ id: ref.id }),
    payment: async (ref: ReservationRef, _: unknown, ctx: PaymentContext) => {
      const id = referenceId(ref.id)
      return id ? payerOnly(await ctx.paymentOfReservation.load(id), ctx.caller) : null
    },
  },
}
