import { readConfig, readEventsConfig, readPaymentMaxAmount, readServiceConfig } from '@gdmarket/platform/config'

export type ItemConfig = ReturnType<typeof readItemConfig>

export const readItemConfig = (env: NodeJS.ProcessEnv = process.env) =>
  readConfig(r => {
    // An item priced above what payment approves could be reserved and confirmed, then never paid.
    const paymentMaxAmount = readPaymentMaxAmount(r)
    return {
      ...readServiceConfig(r, 'item', 4001),
      ...readEventsConfig(r, 'item'),
      priceMax: r.int('PRICE_MAX', paymentMaxAmount, { min: 0, max: paymentMaxAmount }),
    }
  }, env)
