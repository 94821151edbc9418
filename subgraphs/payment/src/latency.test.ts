import { describe, expect, it } from '@jest/globals'
import { readConfig } from '@gdmarket/platform/config'
import { drawLag, readTestLatency } from './latency.js'

const read = (env: NodeJS.ProcessEnv) => readConfig(r => readTestLatency(r, env.NODE_ENV as 'test'), env)

describe('test-only payment latency', () => {
  it('is off unless set', () => {
    expect(read({ NODE_ENV: 'test' })).toBeNull()
    expect(drawLag(null)).toEqual({ beforeMs: 0, afterMs: 0 })
  })

  it('reads a range with NODE_ENV=test', () => {
    expect(read({ NODE_ENV: 'test', PAYMENT_TEST_LATENCY_MS: '300-900' })).toEqual({ minMs: 300, maxMs: 900 })
  })

  it('is refused outside tests and when malformed', () => {
    expect(() => read({ NODE_ENV: 'production', PAYMENT_TEST_LATENCY_MS: '300-900' })).toThrow(
      /only with NODE_ENV=test/,
    )
    expect(() => read({ NODE_ENV: 'development', PAYMENT_TEST_LATENCY_MS: '300-900' })).toThrow(
      /only with NODE_ENV=test/,
    )
    expect(() => read({ NODE_ENV: 'test', PAYMENT_TEST_LATENCY_MS: '900-300' })).toThrow(/min-max/)
    expect(() => read({ NODE_ENV: 'test', PAYMENT_TEST_LATENCY_MS: 'slow' })).toThrow(/min-max/)
  })

  it('waits a draw from the range, before or after the commit', () => {
    const range = { minMs: 300, maxMs: 900 }
    expect(drawLag(range, () => 0)).toEqual({ beforeMs: 300, afterMs: 0 })
    const draws = [1, 0.9]
    expect(drawLag(range, () => draws.shift()!)).toEqual({ beforeMs: 0, afterMs: 900 })
  })
})
