// Builds the item subgraph (never listens; main.ts does).
import { SUBGRAPHS } from '@gdmarket/contracts/services'
import { consumer } from '@gdmarket/platform/consumer'
import { Idempotency } from '@gdmarket/platform/idempotency'
import { buildSubgraph } from '@gdmarket/platform/subgraph'
import { reservationEvents } from '@gdmarket/contracts/reservation'
import type { ItemConfig } from './config.js'
import { reservationArbiter } from './arbiter.js'
import { ITEM_CONSUMER, reservationHandlers } from './saga.js'
import type { ItemDeps } from './items.js'
import { itemContext, resolvers } from './resolvers.js'
import { createItemDb, itemIdempotency, itemOutbox, reservationKnown } from './store.js'

export function buildItemSubgraph(config: ItemConfig) {
  return buildSubgraph({
    config,
    entry: SUBGRAPHS.item,
    createDb: createItemDb,
    resolvers,
    setup: ({ db, kick }) => {
      const outbox = itemOutbox(db, config.natsStream, kick)
      const idempotency = new Idempotency(itemIdempotency(db), config)
      const deps: ItemDeps = {
        db,
        transact: outbox.transact,
        priceMax: config.priceMax,
        reservationKnown: id => reservationKnown(db, id),
        arbiter: reservationArbiter(config),
        idempotency,
      }
      const holds = reservationHandlers(deps.transact)
      return {
        outbox: outbox.store,
        retention: [idempotency.pruner()],
        context: request => itemContext(request, deps),
        consumers: [
          consumer({
            // Each handler marks its event applied in the transaction of its change.
            recordsApplied: true,
            durable: ITEM_CONSUMER,
            catalogue: reservationEvents,
            handlers: holds.handlers,
            handleBatch: holds.handleBatch,
            // One item's reservations are decided one after another, in stream order.
            keyOf: e => e.data.reservation.itemId,
          }),
        ],
      }
    },
  })
}
