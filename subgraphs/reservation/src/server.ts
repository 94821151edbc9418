// Builds the reservation subgraph (never listens; main.ts does).
import { SUBGRAPHS } from '@gdmarket/contracts/services'
import { consumer } from '@gdmarket/platform/consumer'
import { Idempotency } from '@gdmarket/platform/idempotency'
import { buildSubgraph } from '@gdmarket/platform/subgraph'
import { itemEvents } from '@gdmarket/contracts/item'
import type { ReservationConfig } from './config.js'
import { createPaymentClient } from './payment-client.js'
import type { ReservationDeps } from './reservations.js'
import { PaymentReconciler } from './reconciler.js'
import { reservationContext, resolvers } from './resolvers.js'
import { itemHandlers, RESERVATION_CONSUMER, sagaKey } from './saga.js'
import { createReservationDb, reservationIdempotency, reservationOutbox } from './store.js'

export function buildReservationSubgraph(config: ReservationConfig) {
  return buildSubgraph({
    config,
    entry: SUBGRAPHS.reservation,
    createDb: createReservationDb,
    resolvers,
    setup: ({ db, kick, logger }) => {
      const outbox = reservationOutbox(db, config.natsStream, kick)
      const idempotency = new Idempotency(reservationIdempotency(db), config)
      const deps: ReservationDeps = {
        db,
        transact: outbox.transact,
        // One client (one circuit breaker) per process: every request shares what it learned about payment.
        payment: createPaymentClient(config, logger),
        logger,
        idempotency,
      }
      const saga = itemHandlers(deps.transact)
      return {
        outbox: outbox.store,
        workers: [new PaymentReconciler(deps, config)],
        retention: [idempotency.pruner()],
        context: request => reservationContext(request, deps),
        consumers: [
          consumer({
            // Each handler marks its event applied in the transaction of its change.
            recordsApplied: true,
            durable: RESERVATION_CONSUMER,
            catalogue: itemEvents,
            handlers: saga.handlers,
            handleBatch: saga.handleBatch,
            // One reservation's events are applied one after another, in stream order.
            keyOf: sagaKey,
          }),
        ],
      }
    },
  })
}
