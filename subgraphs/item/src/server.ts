// Builds the item subgraph (never listens; main.ts does).
import { repoPath, SUBGRAPHS } from '@gdmarket/contracts/services'
import { consumer } from '@gdmarket/platform/consumer'
import { buildSubgraph } from '@gdmarket/platform/subgraph'
import { reservationEvents } from '@gdmarket/contracts/reservation'
import type { ItemConfig } from './config.js'
import { reservationArbiter } from './arbiter.js'
import { ITEM_CONSUMER, reservationHandlers } from './holds.js'
import type { ItemDeps } from './items.js'
import { itemContext, resolvers } from './resolvers.js'
import { createItemDb, itemOutbox, reservationKnown } from './store.js'

export function buildItemSubgraph(config: ItemConfig) {
  return buildSubgraph({
    config,
    database: SUBGRAPHS.item.database,
    createDb: createItemDb,
    schemaFile: repoPath(SUBGRAPHS.item.sdl),
    resolvers,
    setup: ({ db, kick }) => {
      const outbox = itemOutbox(db, config.natsStream, kick)
      const deps: ItemDeps = {
        db,
        transact: outbox.transact,
        priceMax: config.priceMax,
        reservationKnown: id => reservationKnown(db, id),
        arbiter: reservationArbiter(config),
      }
      return {
        outbox: outbox.store,
        context: request => itemContext(request, deps),
        consumers: [
          consumer({
            durable: ITEM_CONSUMER,
            catalogue: reservationEvents,
            handlers: reservationHandlers(deps.transact),
            // One item's reservations are decided one after another, in stream order.
            keyOf: e => e.data.reservation.itemId,
          }),
        ],
      }
    },
  })
}
