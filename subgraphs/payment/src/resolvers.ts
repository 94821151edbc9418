// Thin: read the context, call a use case.
import DataLoader from 'dataloader'
import type { RequestContext } from '@gdmarket/platform/subgraph'
import { referenceId } from '@gdmarket/platform/errors'
import { readPage } from '@gdmarket/platform/paging'
import type { Same } from '@gdmarket/platform/types'
import type { PaymentStatus } from '@gdmarket/contracts/payment'
import type * as Schema from '../../../generated/payment/resolvers.js'
import {
  approvePayment,
  closePaymentAttempt,
  refundPayment,
  type PaymentDeps,
  type PaymentRequest,
} from './payments.js'
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

/** The schema's enum is the domain's own state: this fails to compile if either changes alone. */
export const sameEnums: [Same<Schema.PaymentStatus, PaymentStatus>] = [true]

export const resolvers: Schema.Resolvers = {
  Query: {
    payments: (_, args, ctx) => {
      const page = readPage(args)
      return ctx.caller ? listPayments(ctx.deps.db, ctx.caller.userId, page) : []
    },
  },
  Mutation: {
    approvePayment: (_, args, ctx) => approvePayment(ctx.deps, asked(ctx), args),
    refundPayment: (_, args, ctx) => refundPayment(ctx.deps, asked(ctx), args),
    closePaymentAttempt: (_, args, ctx) => closePaymentAttempt(ctx.deps, asked(ctx), args),
  },
  // Entity references are checked like payments(): a payment is shown to the customer who paid it
  // and to nobody else, whatever id or reservation id a representation names.
  Payment: {
    __resolveReference: async (ref, ctx) => {
      const id = referenceId(ref.id)
      return id ? payerOnly(await ctx.payments.load(id), ctx.caller) : null
    },
    reservation: payment => ({ id: payment.reservationId }),
    createdAt: payment => payment.createdAt.toISOString(),
  },
  Reservation: {
    __resolveReference: ref => ({ id: ref.id }),
    payment: async (ref, _, ctx) => {
      const id = referenceId(ref.id)
      return id ? payerOnly(await ctx.paymentOfReservation.load(id), ctx.caller) : null
    },
  },
}
