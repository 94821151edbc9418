// Thin: read the context, call a use case.
import DataLoader from 'dataloader'
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js'
import type { RequestContext } from '@gdmarket/platform/subgraph'
import { referenceId, requireId } from '@gdmarket/platform/errors'
import { readPage, type PageArgs } from '@gdmarket/platform/paging'
import { cancelPayment, payReservation } from './paying.js'
import { cancelReservation, reserveItem, type Asked, type ReservationDeps } from './reservations.js'
import { canSee } from './rules.js'
import { listReservations, reservationsByIds, type Reservation } from './store.js'

export interface ReservationContext extends RequestContext {
  deps: ReservationDeps
  reservations: DataLoader<string, Reservation | null>
}

export function reservationContext(request: RequestContext, deps: ReservationDeps): ReservationContext {
  return { ...request, deps, reservations: new DataLoader(ids => reservationsByIds(deps.db, ids)) }
}

const asked = (ctx: ReservationContext): Asked => ({ caller: ctx.caller, cause: { correlationId: ctx.correlationId } })

/** A reservation the caller may see (its customer or the item's owner), else null as if it did not exist. */
async function visible(ctx: ReservationContext, id: string): Promise<Reservation | null> {
  const r = await ctx.reservations.load(id)
  return r && canSee(r, ctx.caller?.userId ?? null) ? r : null
}

export const resolvers: GraphQLResolverMap<ReservationContext> = {
  Query: {
    reservations: (_: unknown, args: PageArgs, ctx: ReservationContext) => {
      const page = readPage(args)
      return ctx.caller ? listReservations(ctx.deps.db, ctx.caller.userId, page) : []
    },
    reservation: (_: unknown, args: { id: string }, ctx: ReservationContext) =>
      visible(ctx, requireId(args.id, 'reservation id')),
  },
  Mutation: {
    reserveItem: (_: unknown, args: { itemId: string }, ctx: ReservationContext) =>
      reserveItem(ctx.deps, asked(ctx), args.itemId),
    cancelReservation: (_: unknown, args: { id: string }, ctx: ReservationContext) =>
      cancelReservation(ctx.deps, asked(ctx), args.id),
    payReservation: (_: unknown, args: { id: string }, ctx: ReservationContext) =>
      payReservation(ctx.deps, asked(ctx), args.id),
    cancelPayment: (_: unknown, args: { id: string }, ctx: ReservationContext) =>
      cancelPayment(ctx.deps, asked(ctx), args.id),
  },
  Reservation: {
    // References (e.g. Payment.reservation) follow the same rule as reservation(id): the router
    // resolves them for the same caller, so a reference never reveals someone else's reservation.
    __resolveReference: (ref: { id: string }, ctx: ReservationContext) => {
      const id = referenceId(ref.id)
      return id ? visible(ctx, id) : null
    },
    item: (r: Reservation) => (r.itemDeleted ? null : { id: r.itemId }),
    createdAt: (r: Reservation) => r.createdAt.toISOString(),
  },
}
