import { describe, expect, it } from '@jest/globals'
import { ConfigReader } from '@gdmarket/platform/config'
import { DEVELOPMENT_CORS_ORIGINS, originAllowed, readCorsPolicy } from './cors.js'

const policyOf = (env: Record<string, string>, mode: 'development' | 'production' = 'development') => {
  const reader = new ConfigReader(env)
  return { policy: readCorsPolicy(reader, mode), problems: reader.problems }
}

describe('readCorsPolicy', () => {
  it("defaults in development to Studio's, the embedded Sandbox's and localhost origins", () => {
    expect(policyOf({}).policy.origins).toEqual(DEVELOPMENT_CORS_ORIGINS)
    expect(DEVELOPMENT_CORS_ORIGINS).toEqual([
      'https://studio.apollographql.com',
      'https://sandbox.embed.apollographql.com',
      'http://localhost:*',
    ])
  })

  it('allows no other origin in production unless listed', () => {
    expect(policyOf({}, 'production').policy.origins).toEqual([])
    expect(
      policyOf({ CORS_ORIGINS: 'https://app.gdmarket.example/ , https://studio.apollographql.com' }, 'production')
        .policy.origins,
    ).toEqual(['https://app.gdmarket.example', 'https://studio.apollographql.com'])
  })

  it('reports an entry that is not an origin', () => {
    expect(policyOf({ CORS_ORIGINS: 'https://ok.example,*.example.com' }).problems).toEqual([
      expect.stringContaining('"*.example.com"'),
    ])
  })
})

describe('originAllowed', () => {
  const { policy } = policyOf({})

  it('matches exact origins and any port of a `host:*` entry', () => {
    expect(originAllowed(policy, 'https://studio.apollographql.com')).toBe(true)
    expect(originAllowed(policy, 'http://localhost:5173')).toBe(true)
    expect(originAllowed(policy, 'http://localhost')).toBe(true)
  })

  it('refuses look-alikes, other schemes and other hosts', () => {
    expect(originAllowed(policy, 'https://studio.apollographql.com.evil.example')).toBe(false)
    expect(originAllowed(policy, 'http://studio.apollographql.com')).toBe(false)
    expect(originAllowed(policy, 'https://localhost:5173')).toBe(false)
    expect(originAllowed(policy, 'http://localhost.evil.example:80')).toBe(false)
    expect(originAllowed(policy, 'null')).toBe(false)
    expect(originAllowed(policy, 'http://localhost:*')).toBe(false)
  })
})
