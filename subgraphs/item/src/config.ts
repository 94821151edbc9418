import {
  readConfig,
  readEventsConfig,
  readPaymentMaxAmount,
  readServiceConfig,
  type ConfigReader,
} from '@gdmarket/platform/config'
import { defaultUrl, SUBGRAPHS } from '@gdmarket/contracts/services'
import { readIdempotencyConfig } from '@gdmarket/platform/idempotency'

export type ItemConfig = ReturnType<typeof readItemConfig>

/** How the item subgraph asks the reservation, the arbiter of a rental, to decide a lend or a return. */
function readArbiterConfig(r: ConfigReader) {
  return {
    reservationUrl: r.url(SUBGRAPHS.reservation.urlEnv, defaultUrl('reservation')),
    /** Deadline of that call; past it lendItem/returnItem answer SERVICE_UNAVAILABLE. */
    reservationTimeoutMs: r.int('RESERVATION_TIMEOUT_MS', 2_000, { min: 10, max: 60_000 }),
  }
}

export const readItemConfig = (env: NodeJS.ProcessEnv = process.env) =>
  readConfig(r => {
    // An item priced above what payment approves could be reserved and confirmed, then never paid.
    const paymentMaxAmount = readPaymentMaxAmount(r)
    return {
      ...readServiceConfig(r, 'item', SUBGRAPHS.item.port),
      ...readEventsConfig(r, SUBGRAPHS.item.defaultDatabaseUrl),
      priceMax: r.int('PRICE_MAX', paymentMaxAmount, { min: 0, max: paymentMaxAmount }),
      ...readArbiterConfig(r),
      ...readIdempotencyConfig(r),
    }
  }, env)
