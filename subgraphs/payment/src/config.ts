import { readConfig, readEventsConfig, readPaymentMaxAmount, readServiceConfig } from '@gdmarket/platform/config'
import { SUBGRAPHS } from '@gdmarket/contracts/services'
import { readTestLatency } from './latency.js'

export type PaymentConfig = ReturnType<typeof readPaymentConfig>

export const readPaymentConfig = (env: NodeJS.ProcessEnv = process.env) =>
  readConfig(r => {
    const service = readServiceConfig(r, 'payment', SUBGRAPHS.payment.port)
    return {
      ...service,
      ...readEventsConfig(r, SUBGRAPHS.payment.defaultDatabaseUrl),
      // The card processor's limit: above it the payment is declined, so PAYMENT_DECLINED can be provoked for real.
      maxAmount: readPaymentMaxAmount(r),
      // Stands in for the processor's latency (the original slept 400–620 ms) to exercise the caller's breaker.
      approvalDelayMs: r.int('PAYMENT_APPROVAL_DELAY_MS', 0, { max: 120_000 }),
      testLatency: readTestLatency(r, service.mode),
    }
  }, env)
