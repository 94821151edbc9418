import { readConfig, readEventsConfig, readServiceConfig, type ConfigReader } from '@gdmarket/platform/config'
import { defaultUrl, SUBGRAPHS } from '@gdmarket/contracts/services'
import { readIdempotencyConfig } from '@gdmarket/platform/idempotency'

export type ReservationConfig = ReturnType<typeof readReservationConfig>
export type PaymentCallConfig = ReturnType<typeof readPaymentCallConfig>

/** How the reservation subgraph calls payment: the deadline and the circuit breaker's knobs. */
function readPaymentCallConfig(r: ConfigReader) {
  const rollingMs = r.int('PAYMENT_BREAKER_ROLLING_MS', 10_000, { min: 100, max: 600_000 })
  return {
    paymentUrl: r.url(SUBGRAPHS.payment.urlEnv, defaultUrl('payment')),
    // The original's Hystrix timeout; the payment processor normally answers within 400–620 ms.
    paymentTimeoutMs: r.int('PAYMENT_TIMEOUT_MS', 610, { min: 10, max: 60_000 }),
    /** Failure percentage within the rolling window that opens the circuit. */
    breakerErrorPercent: r.int('PAYMENT_BREAKER_ERROR_PERCENT', 50, { min: 1, max: 100 }),
    /** How long the circuit stays open before one trial call may close it again. */
    breakerResetMs: r.int('PAYMENT_BREAKER_RESET_MS', 5_000, { min: 10, max: 600_000 }),
    /** Calls within the window before the circuit may open at all. */
    breakerVolume: r.int('PAYMENT_BREAKER_VOLUME', 10, { min: 1, max: 10_000 }),
    breakerRollingMs: rollingMs,
  }
}

/** The reconciler of lost payment answers (reconciler.ts). */
function readReconcilerConfig(r: ConfigReader, paymentTimeoutMs: number) {
  const reconcileAfterMs = r.int('RECONCILE_AFTER_MS', 2_000, { min: 10, max: 600_000 })
  // Younger intents may still be answered by their own request; settling them would only race it.
  if (reconcileAfterMs <= paymentTimeoutMs)
    r.problem(`RECONCILE_AFTER_MS (${reconcileAfterMs}) must be longer than PAYMENT_TIMEOUT_MS (${paymentTimeoutMs})`)
  return {
    /** How often the reconciler looks for payment calls whose answer was lost. */
    reconcileIntervalMs: r.int('RECONCILE_INTERVAL_MS', 1_000, { min: 10, max: 600_000 }),
    /** How old an unsettled payment call must be before the reconciler asks payment about it. */
    reconcileAfterMs,
    /** Reservations settled per round. */
    reconcileBatch: r.int('RECONCILE_BATCH', 50, { min: 1, max: 10_000 }),
  }
}

export const readReservationConfig = (env: NodeJS.ProcessEnv = process.env) =>
  readConfig(r => {
    const payment = readPaymentCallConfig(r)
    return {
      ...readServiceConfig(r, 'reservation', SUBGRAPHS.reservation.port),
      ...readEventsConfig(r, SUBGRAPHS.reservation.defaultDatabaseUrl),
      ...payment,
      ...readReconcilerConfig(r, payment.paymentTimeoutMs),
      ...readIdempotencyConfig(r),
    }
  }, env)
