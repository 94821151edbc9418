// Builds the projections subgraph (never listens; main.ts does): the ItemInfo read model fed by a
// durable consumer of every event, queried over GraphQL, each change published to the change feed
// stream (through an outbox) that the router's itemInfoChanged subscriptions read.
import { SUBGRAPHS } from '@gdmarket/contracts/services'
import { consumer } from '@gdmarket/platform/consumer'
import { eitherCatalogue } from '@gdmarket/platform/events'
import { buildSubgraph } from '@gdmarket/platform/subgraph'
import { itemEvents } from '@gdmarket/contracts/item'
import { itemInfoChangedSubject, itemInfoFeedStream } from '@gdmarket/contracts/item-info'
import { reservationEvents } from '@gdmarket/contracts/reservation'
import type { ProjectionsConfig } from './config.js'
import {
  FeedPosition,
  orderingKey,
  PROJECTIONS_CONSUMER,
  projectionBatch,
  projectionHandlers,
  RecentRows,
  type ProjectionDeps,
} from './item-info.js'
import { projectionsContext, resolvers } from './resolvers.js'
import { changeFeedStore, createProjectionsDb } from './store.js'

export function buildProjectionsSubgraph(config: ProjectionsConfig) {
  return buildSubgraph({
    config,
    entry: SUBGRAPHS.projections,
    createDb: createProjectionsDb,
    resolvers,
    streams: [
      {
        name: itemInfoFeedStream(config.natsStream),
        subjects: [itemInfoChangedSubject(config.natsStream, '>')],
        maxAgeMs: config.itemInfoFeedMaxAgeMs,
      },
    ],
    setup: ({ db, kick }) => {
      const position = new FeedPosition(db)
      const deps: ProjectionDeps = {
        db,
        changeFeed: { stream: config.natsStream, kick, position },
        recent: new RecentRows(config.itemInfoRowsInMemory),
      }
      return {
        outbox: changeFeedStore(db, changes => {
          for (const c of changes) position.advance(c.seq)
        }),
        context: request => projectionsContext(request, db),
        consumers: [
          consumer({
            // Each handler marks its event applied in the transaction of its change.
            recordsApplied: true,
            durable: PROJECTIONS_CONSUMER,
            // Two contexts: one filter for every context (NATS 2.9); payment events are acknowledged and ignored.
            catalogue: eitherCatalogue(itemEvents, reservationEvents),
            handlers: projectionHandlers(deps),
            handleBatch: projectionBatch(deps),
            // Keyed by item: an item's own events and its reservations' events apply in stream order.
            keyOf: orderingKey,
          }),
        ],
      }
    },
  })
}
