// Thin: read the context, call a use case.
import DataLoader from 'dataloader'
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js'
import type { RequestContext } from '@gdmarket/platform/subgraph'
import { referenceId, requireId } from '@gdmarket/platform/errors'
import type { ItemStatus } from '@gdmarket/contracts/item'
import { readPage, type PageArgs } from '@gdmarket/platform/paging'
import { deleteItem, lendItem, registerItem, returnItem, type ItemDeps, type NewItemInput } from './items.js'
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

export const resolvers: GraphQLResolverMap<ItemContext> = {
  Query: {
    items: (_: unknown, args: PageArgs & { status?: ItemStatus | null }, ctx: ItemContext) =>
      listItems(ctx.deps.db, args.status, readPage(args)),
    item: async (_: unknown, args: { id: string }, ctx: ItemContext) => {
      const item = await findItem(ctx.deps.db, requireId(args.id, 'item id'))
      return item && !item.deletedAt ? item : null
    },
    itemsNear: (_: unknown, args: Parameters<typeof validateNear>[0], ctx: ItemContext) =>
      itemsNear(ctx.deps.db, validateNear(args)),
  },
  Mutation: {
    registerItem: (_: unknown, args: { input: NewItemInput }, ctx: ItemContext) =>
      registerItem(ctx.deps, ctx.caller, args.input, cause(ctx)),
    deleteItem: (_: unknown, args: { id: string }, ctx: ItemContext) =>
      deleteItem(ctx.deps, ctx.caller, args.id, cause(ctx)),
    lendItem: (_: unknown, args: { reservationId: string }, ctx: ItemContext) =>
      lendItem(ctx.deps, ctx.caller, args.reservationId, cause(ctx)),
    returnItem: (_: unknown, args: { itemId: string }, ctx: ItemContext) =>
      returnItem(ctx.deps, ctx.caller, args.itemId, cause(ctx)),
  },
  Item: {
    __resolveReference: (ref: { id: string }, ctx: ItemContext) => {
      const id = referenceId(ref.id)
      return id ? ctx.items.load(id) : null
    },
    createdAt: (item: Item) => item.createdAt.toISOString(),
    location: (item: Item) => locationOf(item),
  },
}
