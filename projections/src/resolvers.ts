// Thin: read the context, call the store, show rows as the GraphQL type does. Public data: no auth.
import DataLoader from 'dataloader'
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js'
import type { RequestContext } from '@gdmarket/platform/subgraph'
import { referenceId, requireId } from '@gdmarket/platform/errors'
import { readPage, type PageArgs } from '@gdmarket/platform/paging'
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

export const resolvers: GraphQLResolverMap<ProjectionsContext> = {
  Query: {
    itemInfos: async (_: unknown, args: PageArgs & { ownerId?: string | null }, ctx: ProjectionsContext) =>
      (await listInfos(ctx.db, args.ownerId, readPage(args))).map(viewOf),
    itemInfo: (_: unknown, args: { itemId: string }, ctx: ProjectionsContext) =>
      ctx.infos.load(requireId(args.itemId, 'item id')),
  },
  ItemInfo: {
    __resolveReference: (ref: { itemId: string }, ctx: ProjectionsContext) => {
      const id = referenceId(ref.itemId)
      return id ? ctx.infos.load(id) : null
    },
  },
  // itemInfoChanged is served by the router from the ItemInfo change feed (item-info.ts):
  // a subgraph over HTTP cannot stream, so there is deliberately no resolver here.
}
