// Builds the item subgraph (never listens; main.ts does).
import path from 'node:path'
import { buildSubgraph } from '@gdmarket/platform/subgraph'
import type { EventEnvelope } from '@gdmarket/platform/events'
import type { ReservationEvents } from '@gdmarket/platform/catalogue'
import type { ItemConfig } from './config.js'
import { applyReservationEvent, ITEM_CONSUMER } from './holds.js'
import type { ItemDeps } from './items.js'
import { itemContext, resolvers } from './resolvers.js'
import { createItemDb, itemOutbox, reservationKnown } from './store.js'

type ReservationEvent = EventEnvelope<ReservationEvents[keyof ReservationEvents]>

export function buildItemSubgraph(config: ItemConfig) {
  return buildSubgraph({
    config,
    database: 'item',
    createDb: createItemDb,
    schemaFile: path.join(import.meta.dirname, 'item.graphql'),
    resolvers,
    setup: ({ db, kick }) => {
      const outbox = itemOutbox(db, config.natsStream, kick)
      const deps: ItemDeps = { db, transact: outbox.transact, reservationKnown: id => reservationKnown(db, id) }
      return {
        outbox: outbox.store,
        context: request => itemContext(request, deps),
        consumers: [
          {
            durable: ITEM_CONSUMER,
            events: 'reservation.*',
            // One item's reservations are decided one after another, in stream order.
            keyOf: e => (e as ReservationEvent).data.reservation.itemId,
            handle: event => applyReservationEvent(deps.transact, event as ReservationEvent),
          },
        ],
      }
    },
  })
}
