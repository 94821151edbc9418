// Thin: read the context, call the store, show rows as the GraphQL type does. Public data, but for
// the reservation behind an item, which only its owner and that reservation's customer see.
import DataLoader from 'dataloader'
import type { RequestContext } from '@gdmarket/platform/subgraph'
import { referenceId, requireId } from '@gdmarket/platform/errors'
import { readPage } from '@gdmarket/platform/paging'
import type { Same } from '@gdmarket/platform/types'
import type { ItemStatus, RentalStatus } from '@gdmarket/contracts/item'
import type { PaymentStatus } from '@gdmarket/contracts/payment'
import type { ReservationStatus } from '@gdmarket/contracts/reservation'
import type * as Schema from '../../generated/projections/resolvers.js'
import { requireUserId } from '@gdmarket/platform/identity'
import { maySeePrivate } from '@gdmarket/platform/privacy'
import { viewOf, type ItemInfoView } from './item-info-rules.js'
import { infosByIds, listInfos, type ProjectionsDb } from './store.js'

export interface ProjectionsContext extends RequestContext {
  db: ProjectionsDb
  infos: DataLoader<string, ItemInfoView | null>
}

export function projectionsContext(request: RequestContext, db: ProjectionsDb): ProjectionsContext {
  const infos = new DataLoader(async (ids: readonly string[]) =>
    (await infosByIds(db, ids)).map(row => (row ? viewOf(row) : null)),
  )
  return { ...request, db, infos }
}

/** The schema's enums are the domain's own states: this fails to compile if either changes alone. */
export const sameEnums: [
  Same<Schema.ItemStatus, ItemStatus>,
  Same<Schema.RentalStatus, RentalStatus>,
  Same<Schema.ReservationStatus, ReservationStatus>,
  Same<Schema.PaymentStatus, PaymentStatus>,
] = [true, true, true, true]

/** Whether the caller is one of the two parties who see the reservation behind an item. */
const seesPrivate = (info: ItemInfoView, ctx: ProjectionsContext) => maySeePrivate(info, ctx.caller?.userId ?? null)

export const resolvers: Schema.Resolvers = {
  Query: {
    itemInfos: async (_, args, ctx) =>
      (
        await listInfos(ctx.db, args.ownerId == null ? null : requireUserId(args.ownerId, 'ownerId'), readPage(args))
      ).map(viewOf),
    itemInfo: (_, args, ctx) => ctx.infos.load(requireId(args.itemId, 'item id')),
  },
  ItemInfo: {
    reservationId: (info, _, ctx) => (seesPrivate(info, ctx) ? info.reservationId : null),
    customerId: (info, _, ctx) => (seesPrivate(info, ctx) ? info.customerId : null),
    customerName: (info, _, ctx) => (seesPrivate(info, ctx) ? info.customerName : null),
    paymentStatus: (info, _, ctx) => (seesPrivate(info, ctx) ? info.paymentStatus : null),
    __resolveReference: (ref, ctx) => {
      const id = referenceId(ref.itemId)
      return id ? ctx.infos.load(id) : null
    },
  },
  // itemInfoChanged is served by the router from the ItemInfo change feed (item-info.ts):
  // a subgraph over HTTP cannot stream, so there is deliberately no resolver here.
}
