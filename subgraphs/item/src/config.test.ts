import { describe, expect, it } from '@jest/globals'
import { ConfigError, DEFAULT_PAYMENT_MAX_AMOUNT } from '@gdmarket/platform/config'
import { readItemConfig } from './config.js'

describe('item config: the price limit follows what payment approves', () => {
  it('defaults PRICE_MAX to PAYMENT_MAX_AMOUNT', () => {
    expect(readItemConfig({}).priceMax).toBe(DEFAULT_PAYMENT_MAX_AMOUNT)
    expect(readItemConfig({ PAYMENT_MAX_AMOUNT: '5000' }).priceMax).toBe(5000)
    expect(readItemConfig({ PAYMENT_MAX_AMOUNT: '5000', PRICE_MAX: '100' }).priceMax).toBe(100)
  })

  it('refuses a PRICE_MAX above PAYMENT_MAX_AMOUNT: such an item could be confirmed and never paid', () => {
    expect(() => readItemConfig({ PRICE_MAX: String(DEFAULT_PAYMENT_MAX_AMOUNT + 1) })).toThrow(ConfigError)
    expect(() => readItemConfig({ PAYMENT_MAX_AMOUNT: '5000', PRICE_MAX: '5001' })).toThrow(/PRICE_MAX/)
  })
})
