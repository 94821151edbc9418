// Thin: read the context, call a use case.
import DataLoader from 'dataloader'
import type { RequestContext } from '@gdmarket/platform/subgraph'
import { referenceId, requireId } from '@gdmarket/platform/errors'
import type { ItemStatus, RentalStatus } from '@gdmarket/contracts/item'
import { readPage } from '@gdmarket/platform/paging'
import type { Same } from '@gdmarket/platform/types'
import type * as Schema from '../../../generated/item/resolvers.js'
import { deleteItem, lendItem, registerItem, returnItem, type ItemDeps } from './items.js'
import { validateNear } from './rules.js'
import { findItem, itemsByIds, itemsNear, listItems, locationOf, type Item } from './store.js'

export interface ItemContext extends RequestContext {
  deps: ItemDeps
  items: DataLoader<string, Item | null>
}

export function itemContext(request: RequestContext, deps: ItemDeps): ItemContext {
  return { ...request, deps, items: new DataLoader(ids => itemsByIds(deps.db, ids)) }
}

const cause = (ctx: ItemContext) => ({ correlationId: ctx.correlationId })

/** The schema's enums are the domain's own states: this fails to compile if either changes alone. */
export const sameEnums: [Same<Schema.ItemStatus, ItemStatus>, Same<Schema.RentalStatus, RentalStatus>] = [true, true]

export const resolvers: Schema.Resolvers = {
  Query: {
    items: (_, args, ctx) => listItems(ctx.deps.db, args.status, readPage(args)),
    item: async (_, args, ctx) => {
      const item = await findItem(ctx.deps.db, requireId(args.id, 'item id'))
      return item && !item.deletedAt ? item : null
    },
    itemsNear: (_, args, ctx) => itemsNear(ctx.deps.db, validateNear(args)),
  },
  Mutation: {
    registerItem: (_, args, ctx) => registerItem(ctx.deps, ctx.caller, args.input, cause(ctx)),
    deleteItem: (_, args, ctx) => deleteItem(ctx.deps, ctx.caller, args.id, cause(ctx)),
    lendItem: (_, args, ctx) => lendItem(ctx.deps, ctx.caller, args.reservationId, cause(ctx)),
    returnItem: (_, args, ctx) => returnItem(ctx.deps, ctx.caller, args.itemId, cause(ctx)),
  },
  Item: {
    __resolveReference: (ref, ctx) => {
      const id = referenceId(ref.id)
      return id ? ctx.items.load(id) : null
    },
    createdAt: item => item.createdAt.toISOString(),
    location: item => locationOf(item),
  },
}
