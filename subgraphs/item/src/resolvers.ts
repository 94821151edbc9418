// Thin: read the context, call a use case.
import DataLoader from 'dataloader'
import type { RequestContext } from '@gdmarket/platform/subgraph'
import { referenceId, requireId } from '@gdmarket/platform/errors'
import type { ItemStatus, RentalStatus } from '@gdmarket/contracts/item'
import { readPage } from '@gdmarket/platform/paging'
import type { Same } from '@gdmarket/platform/types'
import type * as Schema from '../../../generated/item/resolvers.js'
import { deleteItem, lendItem, registerItem, returnItem, type ItemAnswer, type ItemDeps } from './items.js'
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

/** A mutation at most once per Idempotency-Key and caller (platform/idempotency.ts). */
const once = (ctx: ItemContext, operation: string, args: unknown, run: (answer?: ItemAnswer) => Promise<Item>) =>
  ctx.deps.idempotency.run({ key: ctx.idempotencyKey, callerId: ctx.caller?.userId ?? null, operation, args }, run)

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
    registerItem: (_, args, ctx) =>
      once(ctx, 'registerItem', args, answer => registerItem(ctx.deps, ctx.caller, args.input, cause(ctx), answer)),
    deleteItem: (_, args, ctx) =>
      once(ctx, 'deleteItem', args, answer => deleteItem(ctx.deps, ctx.caller, args.id, cause(ctx), answer)),
    lendItem: (_, args, ctx) =>
      once(ctx, 'lendItem', args, answer => lendItem(ctx.deps, ctx.caller, args.reservationId, cause(ctx), answer)),
    returnItem: (_, args, ctx) =>
      once(ctx, 'returnItem', args, answer => returnItem(ctx.deps, ctx.caller, args.itemId, cause(ctx), answer)),
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
