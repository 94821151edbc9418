import { describe, expect, it } from '@jest/globals'
import { ConfigError, DEV_JWT_SECRET } from '@gdmarket/platform/config'
import { readRouterConfig } from './config.js'

describe('readRouterConfig', () => {
  it('has working development defaults', () => {
    const config = readRouterConfig({})
    expect(config.port).toBe(4000)
    expect(config.jwtSecret).toBe(DEV_JWT_SECRET)
    expect(config.subgraphUrls.projections).toBe('http://127.0.0.1:4004/graphql')
    expect(config.limits.subgraphTimeoutMs).toBeGreaterThan(0)
  })

  it('refuses the development JWT secret in production, and reports every problem at once', () => {
    const env = {
      NODE_ENV: 'production',
      INTERNAL_SECRET: 'a-production-internal-secret',
      ITEM_URL: 'not a url',
      SUBGRAPH_TIMEOUT_MS: '-1',
    }
    let error: unknown
    try {
      readRouterConfig(env)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    const problems = (error as ConfigError).problems.join('\n')
    expect(problems).toContain('JWT_SECRET')
    expect(problems).toContain('ITEM_URL')
    expect(problems).toContain('SUBGRAPH_TIMEOUT_MS')
  })

  it('takes the subgraph urls and limits from the environment', () => {
    const config = readRouterConfig({ PAYMENT_URL: 'http://payment:8080/graphql', MAX_QUERY_DEPTH: '5' })
    expect(config.subgraphUrls.payment).toBe('http://payment:8080/graphql')
    expect(config.operationLimits.maxDepth).toBe(5)
  })
})
