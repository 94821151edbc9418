import { readConfig, readEventsConfig, readPaymentMaxAmount, readServiceConfig } from '@gdmarket/platform/config'
import { SUBGRAPHS } from '@gdmarket/contracts/services'

export type ItemConfig = ReturnType<typeof readItemConfig>

export const readItemConfig = (env: NodeJS.ProcessEnv = process.env) =>
  readConfig(r => {
    // An item priced above what payment approves could be reserved and confirmed, then never paid.
    const paymentMaxAmount = readPaymentMaxAmount(r)
    return {
      ...readServiceConfig(r, 'item', SUBGRAPHS.item.port),
      ...readEventsConfig(r, SUBGRAPHS.item.defaultDatabaseUrl),
      priceMax: r.int('PRICE_MAX', paymentMaxAmount, { min: 0, max: paymentMaxAmount }),
    }
  }, env)
