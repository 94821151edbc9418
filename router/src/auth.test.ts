import { describe, expect, it } from '@jest/globals'
import { GraphQLError } from 'graphql'
import { SignJWT } from 'jose'
import { callerFromAuthorization, signToken, verifyToken } from './auth.js'

const SECRET = 'a-test-secret-of-some-length'
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
    await expect(verifyToken(await signToken(alice, SECRET), SECRET)).resolves.toEqual(alice)
  })

  it('refuses an expired token', async () => {
    const token = await signToken(alice, SECRET, { expiresIn: -10 })
    expect(await codeOf(verifyToken(token, SECRET))).toBe('UNAUTHENTICATED')
    await expect(verifyToken(token, SECRET)).rejects.toThrow('expired')
  })

  it('refuses a token signed with another secret', async () => {
    const token = await signToken(alice, 'another-secret-of-some-length')
    expect(await codeOf(verifyToken(token, SECRET))).toBe('UNAUTHENTICATED')
  })

  it('refuses unknown roles, a roles claim that is not an array, and a missing name', async () => {
    expect(await codeOf(verifyToken(await rawToken({ name: 'A', roles: ['admin'] }), SECRET))).toBe('UNAUTHENTICATED')
    expect(await codeOf(verifyToken(await rawToken({ name: 'A', roles: 'owner' }), SECRET))).toBe('UNAUTHENTICATED')
    expect(await codeOf(verifyToken(await rawToken({ roles: ['owner'] }), SECRET))).toBe('UNAUTHENTICATED')
  })

  it('refuses a token with algorithm none or garbage', async () => {
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"u1","name":"A","roles":[]}').toString('base64url')}.`
    expect(await codeOf(verifyToken(unsigned, SECRET))).toBe('UNAUTHENTICATED')
    expect(await codeOf(verifyToken('not-a-jwt', SECRET))).toBe('UNAUTHENTICATED')
  })
})

describe('callerFromAuthorization', () => {
  it('is anonymous without a header', async () => {
    await expect(callerFromAuthorization(undefined, SECRET)).resolves.toBeNull()
    await expect(callerFromAuthorization('', SECRET)).resolves.toBeNull()
  })

  it('reads a Bearer token, any case', async () => {
    const token = await signToken(alice, SECRET)
    await expect(callerFromAuthorization(`bearer ${token}`, SECRET)).resolves.toEqual(alice)
  })

  it('refuses another scheme', async () => {
    expect(await codeOf(callerFromAuthorization('Basic dTE6cHc=', SECRET))).toBe('UNAUTHENTICATED')
  })

  it('asks for HTTP 401', async () => {
    const err = await callerFromAuthorization('Bearer x', SECRET).catch((e: unknown) => e)
    expect((err as GraphQLError).extensions.http).toMatchObject({ status: 401 })
  })
})
