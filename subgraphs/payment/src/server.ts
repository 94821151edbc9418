// Builds the payment subgraph (never listens; main.ts does). It consumes no events: the
// reservation subgraph calls it synchronously, and it only publishes.
import { SUBGRAPHS } from '@gdmarket/contracts/services'
import { buildSubgraph } from '@gdmarket/platform/subgraph'
import type { PaymentConfig } from './config.js'
import type { PaymentDeps } from './payments.js'
import { paymentContext, resolvers } from './resolvers.js'
import { createPaymentDb, paymentOutbox } from './store.js'

export function buildPaymentSubgraph(config: PaymentConfig) {
  return buildSubgraph({
    config,
    entry: SUBGRAPHS.payment,
    createDb: createPaymentDb,
    resolvers,
    setup: ({ db, kick }) => {
      const outbox = paymentOutbox(db, config.natsStream, kick)
      const deps: PaymentDeps = {
        db,
        transact: outbox.transact,
        maxAmount: config.maxAmount,
        approvalDelayMs: config.approvalDelayMs,
        testLatency: config.testLatency,
      }
      return { outbox: outbox.store, context: request => paymentContext(request, deps) }
    },
  })
}
