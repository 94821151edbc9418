import { afterEach, describe, expect, it, jest } from '@jest/globals'
import { GraphQLError } from 'graphql'
import { SignJWT } from 'jose'
import { callerFromAuthorization, signToken, type TokenPolicy, VerifiedTokens, verifyToken } from './auth.js'

const SECRET = 'a-test-secret-of-some-length'
const POLICY: TokenPolicy = { secret: SECRET, maxLifetimeSeconds: 24 * 3600, clockToleranceSeconds: 30 }
const alice = { userId: 'u1', name: 'Alice', roles: ['owner' as const, 'renter' as const] }

async function codeOf(p: Promise<unknown>): Promise<unknown> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(GraphQLError)
  return (err as GraphQLError).extensions.code
}

const rawToken = (claims: Record<string, unknown>) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('u1')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET))

describe('verifyToken', () => {
  it('returns the caller of a valid token', async () => {
    await expect(verifyToken(await signToken(alice, SECRET), POLICY)).resolves.toEqual(alice)
  })

  it('refuses an expired token', async () => {
    const token = await signToken(alice, SECRET, { expiresIn: -120 })
    expect(await codeOf(verifyToken(token, POLICY))).toBe('UNAUTHENTICATED')
    await expect(verifyToken(token, POLICY)).rejects.toThrow('expired')
  })

  it('refuses a token signed with another secret', async () => {
    const token = await signToken(alice, 'another-secret-of-some-length')
    expect(await codeOf(verifyToken(token, POLICY))).toBe('UNAUTHENTICATED')
  })

  it('refuses unknown roles, a roles claim that is not an array, and a missing name', async () => {
    expect(await codeOf(verifyToken(await rawToken({ name: 'A', roles: ['admin'] }), POLICY))).toBe('UNAUTHENTICATED')
    expect(await codeOf(verifyToken(await rawToken({ name: 'A', roles: 'owner' }), POLICY))).toBe('UNAUTHENTICATED')
    expect(await codeOf(verifyToken(await rawToken({ roles: ['owner'] }), POLICY))).toBe('UNAUTHENTICATED')
  })

  it('refuses a sub or name no row could store: over-long, empty, or with a control character', async () => {
    for (const caller of [
      { ...alice, userId: 'u'.repeat(201) },
      { ...alice, userId: '' },
      { ...alice, userId: 'u\u0000' },
      { ...alice, name: 'A'.repeat(201) },
      { ...alice, name: 'A\u001b[31m' },
    ])
      expect(await codeOf(verifyToken(await signToken(caller, SECRET), POLICY))).toBe('UNAUTHENTICATED')
    await expect(
      verifyToken(await signToken({ ...alice, userId: 'u'.repeat(200) }, SECRET), POLICY),
    ).resolves.toMatchObject({ userId: 'u'.repeat(200) })
  })

  it('refuses a token with algorithm none or garbage', async () => {
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"u1","name":"A","roles":[]}').toString('base64url')}.`
    expect(await codeOf(verifyToken(unsigned, POLICY))).toBe('UNAUTHENTICATED')
    expect(await codeOf(verifyToken('not-a-jwt', POLICY))).toBe('UNAUTHENTICATED')
  })
})

describe('token policy', () => {
  const now = () => Math.floor(Date.now() / 1000)
  const withClaims = (claims: Record<string, unknown>, build: (jwt: SignJWT) => SignJWT = jwt => jwt) =>
    build(
      new SignJWT({ name: 'A', roles: ['owner'], ...claims }).setProtectedHeader({ alg: 'HS256' }).setSubject('u1'),
    ).sign(new TextEncoder().encode(SECRET))

  it('refuses a token without exp', async () => {
    const token = await withClaims({}, jwt => jwt.setIssuedAt())
    await expect(verifyToken(token, POLICY)).rejects.toThrow('no expiry')
  })

  it('refuses a token that lives longer than JWT_MAX_LIFETIME_S, from iat or from now', async () => {
    const short = { ...POLICY, maxLifetimeSeconds: 3600 }
    await expect(verifyToken(await signToken(alice, SECRET, { expiresIn: 3000 }), short)).resolves.toEqual(alice)
    await expect(verifyToken(await signToken(alice, SECRET, { expiresIn: '2h' }), short)).rejects.toThrow(
      'longer than 3600',
    )
    const noIat = await withClaims({ exp: now() + 7200 })
    expect(await codeOf(verifyToken(noIat, short))).toBe('UNAUTHENTICATED')
    const oldIat = await withClaims({ exp: now() + 60, iat: now() - 7200 })
    expect(await codeOf(verifyToken(oldIat, short))).toBe('UNAUTHENTICATED')
  })

  it('signs no longer than the policy allows by default', async () => {
    const short = { ...POLICY, maxLifetimeSeconds: 600 }
    await expect(verifyToken(await signToken(alice, short), short)).resolves.toEqual(alice)
  })

  it('checks JWT_ISSUER and JWT_AUDIENCE when they are set', async () => {
    const strict = { ...POLICY, issuer: 'https://id.gdmarket.test', audience: 'gdmarket-api' }
    await expect(verifyToken(await signToken(alice, strict), strict)).resolves.toEqual(alice)
    await expect(verifyToken(await signToken(alice, POLICY), strict)).rejects.toThrow('issuer')
    const wrongAudience = await signToken(alice, { ...strict, audience: 'another-api' })
    await expect(verifyToken(wrongAudience, strict)).rejects.toThrow('audience')
  })

  it('allows JWT_CLOCK_TOLERANCE_S of skew on exp', async () => {
    const justExpired = await withClaims({ exp: now() - 10 })
    await expect(verifyToken(justExpired, POLICY)).resolves.toMatchObject({ userId: 'u1' })
    await expect(verifyToken(justExpired, { ...POLICY, clockToleranceSeconds: 0 })).rejects.toThrow('expired')
  })
})

describe('callerFromAuthorization', () => {
  it('is anonymous without a header', async () => {
    await expect(callerFromAuthorization(undefined, POLICY)).resolves.toBeNull()
    await expect(callerFromAuthorization('', POLICY)).resolves.toBeNull()
  })

  it('reads a Bearer token, any case', async () => {
    const token = await signToken(alice, SECRET)
    await expect(callerFromAuthorization(`bearer ${token}`, POLICY)).resolves.toEqual(alice)
  })

  it('refuses another scheme', async () => {
    expect(await codeOf(callerFromAuthorization('Basic dTE6cHc=', POLICY))).toBe('UNAUTHENTICATED')
  })

  it('asks for HTTP 401', async () => {
    const err = await callerFromAuthorization('Bearer x', POLICY).catch((e: unknown) => e)
    expect((err as GraphQLError).extensions.http).toMatchObject({ status: 401 })
  })
})

describe('verified tokens', () => {
  afterEach(() => {
    jest.useRealTimers()
  })
  // Only the clock: jose's WebCrypto jobs and promises run as usual.
  const fakeClock = () =>
    jest.useFakeTimers({
      doNotFake: [
        'nextTick',
        'setImmediate',
        'queueMicrotask',
        'setTimeout',
        'clearTimeout',
        'setInterval',
        'clearInterval',
      ],
    })

  it('answers a remembered caller until its exp, then forgets it', () => {
    const verified = new VerifiedTokens(10)
    verified.remember('t', alice, 1000)
    expect(verified.get('t', 999_999)).toEqual(alice)
    expect(verified.get('t', 1_000_000)).toBeUndefined()
    expect(verified.remembered).toBe(0)
  })

  it('forgets the oldest past its size, and remembers nothing with size 0', () => {
    const verified = new VerifiedTokens(2)
    for (const t of ['a', 'b', 'c']) verified.remember(t, alice, 2_000_000_000)
    expect(['a', 'b', 'c'].map(t => verified.get(t, 0) !== undefined)).toEqual([false, true, true])
    const none = new VerifiedTokens(0)
    none.remember('a', alice, 2_000_000_000)
    expect(none.get('a', 0)).toBeUndefined()
  })

  it('refuses a token once it has expired, though it was verified before', async () => {
    fakeClock()
    const policy: TokenPolicy = { ...POLICY, clockToleranceSeconds: 0 }
    const token = await signToken(alice, SECRET, { expiresIn: 60 })
    await expect(verifyToken(token, policy)).resolves.toEqual(alice)
    jest.setSystemTime(Date.now() + 61_000)
    await expect(verifyToken(token, policy)).rejects.toThrow('expired')
  })

  it('never answers a token verified under one secret for a policy with another', async () => {
    const token = await signToken(alice, SECRET)
    await expect(verifyToken(token, POLICY)).resolves.toEqual(alice)
    const other: TokenPolicy = { ...POLICY, secret: 'another-secret-of-some-length' }
    expect(await codeOf(verifyToken(token, other))).toBe('UNAUTHENTICATED')
  })

  it('gives every request a caller it cannot change for the next', async () => {
    const token = await signToken(alice, SECRET)
    const first = await verifyToken(token, POLICY)
    expect(() => (first.roles as string[]).push('owner')).toThrow()
    await expect(verifyToken(token, POLICY)).resolves.toEqual(alice)
  })
})
