// Thin: read the context, call a use case.
import DataLoader from 'dataloader'
import type { RequestContext } from '@gdmarket/platform/subgraph'
import { referenceId, requireId } from '@gdmarket/platform/errors'
import { readPage } from '@gdmarket/platform/paging'
import type { Same } from '@gdmarket/platform/types'
import type { RentalStatus } from '@gdmarket/contracts/item'
import type { PaymentStatus } from '@gdmarket/contracts/payment'
import type { ReservationStatus } from '@gdmarket/contracts/reservation'
import type * as Schema from '../../../generated/reservation/resolvers.js'
import { cancelPayment, payReservation } from './paying.js'
import { decideLend, decideReturn } from './renting.js'
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

/** A mutation at most once per Idempotency-Key and caller (platform/idempotency.ts). */
const once = (
  ctx: ReservationContext,
  operation: string,
  args: unknown,
  run: (asked: Asked) => Promise<Reservation>,
): Promise<Reservation> =>
  ctx.deps.idempotency.run({ key: ctx.idempotencyKey, callerId: ctx.caller?.userId ?? null, operation, args }, answer =>
    run({ ...asked(ctx), answer }),
  )

/** A reservation the caller may see (its customer or the item's owner), else null as if it did not exist. */
async function visible(ctx: ReservationContext, id: string): Promise<Reservation | null> {
  const r = await ctx.reservations.load(id)
  return r && canSee(r, ctx.caller) ? r : null
}

/** The schema's enums are the domain's own states: this fails to compile if either changes alone. */
export const sameEnums: [
  Same<Schema.ReservationStatus, ReservationStatus>,
  Same<Schema.PaymentStatus, PaymentStatus>,
  Same<Schema.RentalStatus, RentalStatus>,
] = [true, true, true]

export const resolvers: Schema.Resolvers = {
  Query: {
    reservations: (_, args, ctx) => {
      const page = readPage(args)
      return ctx.caller ? listReservations(ctx.deps.db, ctx.caller.userId, page) : []
    },
    reservation: (_, args, ctx) => visible(ctx, requireId(args.id, 'reservation id')),
  },
  Mutation: {
    reserveItem: (_, args, ctx) => once(ctx, 'reserveItem', args, a => reserveItem(ctx.deps, a, args.itemId)),
    cancelReservation: (_, args, ctx) =>
      once(ctx, 'cancelReservation', args, a => cancelReservation(ctx.deps, a, args.id)),
    payReservation: (_, args, ctx) => once(ctx, 'payReservation', args, a => payReservation(ctx.deps, a, args.id)),
    cancelPayment: (_, args, ctx) => once(ctx, 'cancelPayment', args, a => cancelPayment(ctx.deps, a, args.id)),
    decideLend: (_, args, ctx) => decideLend(ctx.deps, { ...asked(ctx), internal: ctx.internal }, args),
    decideReturn: (_, args, ctx) => decideReturn(ctx.deps, { ...asked(ctx), internal: ctx.internal }, args),
  },
  Reservation: {
    // References (e.g. Payment.reservation) follow the same rule as reservation(id): the router
    // resolves them for the same caller, so a reference never reveals someone else's reservation.
    __resolveReference: (ref, ctx) => {
      const id = referenceId(ref.id)
      return id ? visible(ctx, id) : null
    },
    item: r => (r.itemDeleted ? null : { id: r.itemId }),
    createdAt: r => r.createdAt.toISOString(),
  },
}
