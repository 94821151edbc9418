import { describe, expect, it } from '@jest/globals'
import { ConfigReader } from '@gdmarket/platform/config'
import { devTokenRequest, readWebAppConfig, webAppRoutes } from './web-app.js'

const read = (env: NodeJS.ProcessEnv, mode: 'development' | 'production' | 'test') => {
  const r = new ConfigReader(env)
  return { config: readWebAppConfig(r, mode), problems: r.problems }
}

describe('web app config', () => {
  it('mints development tokens outside production only', () => {
    expect(read({}, 'development').config.devTokens).toBe(true)
    expect(read({}, 'test').config.devTokens).toBe(true)
    expect(read({}, 'production').config.devTokens).toBe(false)
    expect(read({ WEB_DEV_TOKENS: '0' }, 'development').config.devTokens).toBe(false)
  })
  it('refuses WEB_DEV_TOKENS=1 in production and a malformed identity provider url', () => {
    const prod = read({ WEB_DEV_TOKENS: '1' }, 'production')
    expect(prod.problems).toEqual(['WEB_DEV_TOKENS=1 is refused in production'])
    expect(prod.config.devTokens).toBe(false)
    expect(read({ WEB_IDENTITY_PROVIDER_URL: 'not a url' }, 'production').problems[0]).toMatch(
      /WEB_IDENTITY_PROVIDER_URL must be a URL/,
    )
  })
  it('has no token route in production', () => {
    const secret = 'x'.repeat(32)
    expect(Object.keys(webAppRoutes(read({}, 'production').config, secret))).not.toContain('POST /dev/token')
    expect(Object.keys(webAppRoutes(read({}, 'development').config, secret))).toContain('POST /dev/token')
  })
})

describe('devTokenRequest', () => {
  it('takes a user id, a name and known roles, once each', () => {
    expect(devTokenRequest({ userId: ' owner-1 ', name: 'Olivia', roles: ['owner', 'owner'] })).toEqual({
      userId: 'owner-1',
      name: 'Olivia',
      roles: ['owner'],
    })
    expect(devTokenRequest({ userId: 'r', roles: ['renter'] }).name).toBe('r')
  })
  it.each([
    ['no user id', { roles: ['owner'] }],
    ['an empty user id', { userId: '  ', roles: ['owner'] }],
    ['a control character', { userId: 'a\u0000', roles: ['owner'] }],
    ['an over-long name', { userId: 'a', name: 'n'.repeat(101), roles: ['owner'] }],
    ['no roles', { userId: 'a', roles: [] }],
    ['an unknown role', { userId: 'a', roles: ['admin'] }],
    ['not an object', null],
  ])('refuses %s', (_, body) => {
    expect(() => devTokenRequest(body)).toThrow()
  })
})
