// Builds the projections subgraph (never listens; main.ts does): the ItemInfo read model fed by a
// durable consumer of every event, queried over GraphQL, each change published to the change feed
// stream (through an outbox) that the router's itemInfoChanged subscriptions read.
import path from 'node:path'
import { buildSubgraph } from '@gdmarket/platform/subgraph'
import type { ProjectionsConfig } from './config.js'
import { applyEvent, orderingKey, PROJECTIONS_CONSUMER, type ProjectionDeps } from './item-info.js'
import { itemInfoChangedSubject, itemInfoFeedStream } from '@gdmarket/platform/events'
import { projectionsContext, resolvers } from './resolvers.js'
import { changeFeedStore, createProjectionsDb } from './store.js'

export function buildProjectionsSubgraph(config: ProjectionsConfig) {
  return buildSubgraph({
    config,
    database: 'projections',
    createDb: createProjectionsDb,
    schemaFile: path.join(import.meta.dirname, 'projections.graphql'),
    resolvers,
    streams: [
      {
        name: itemInfoFeedStream(config.natsStream),
        subjects: [itemInfoChangedSubject(config.natsStream, '>')],
        maxAgeMs: config.itemInfoFeedMaxAgeMs,
      },
    ],
    setup: ({ db, kick }) => {
      const deps: ProjectionDeps = { db, changeFeed: { stream: config.natsStream, kick } }
      return {
        outbox: changeFeedStore(db),
        context: request => projectionsContext(request, db),
        consumers: [
          {
            durable: PROJECTIONS_CONSUMER,
            // One filter for every context (NATS 2.9); payment events are acknowledged and ignored.
            events: '*.*',
            // Keyed by item: an item's own events and its reservations' events apply in stream order.
            keyOf: orderingKey,
            handle: async (event, { seq }) => {
              await applyEvent(deps, event, seq)
            },
          },
        ],
      }
    },
  })
}
