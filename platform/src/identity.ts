// Who is calling. The router verifies the caller's JWT and forwards the identity to subgraphs in a
// header, together with a secret shared only between GDmarket processes; subgraphs trust the
// identity header only when that secret matches, and enforce roles and ownership themselves.
import { timingSafeEqual } from 'node:crypto'
import { badInput, forbidden, unauthenticated } from './errors.js'
import { forbiddenCharacterAt } from './input.js'

export type Role = 'owner' | 'renter'
export const ROLES: readonly Role[] = ['owner', 'renter']

/** Who is asking, the one shape every part passes around (`Caller | null`: null is anonymous). */
export interface Caller {
  userId: string
  name: string
  roles: Role[]
}

/** Bounds of a token's `sub` (the user id every row stores) and `name` claims. */
export const USER_ID_MAX_LENGTH = 200
export const USER_NAME_MAX_LENGTH = 200

/**
 * Why a user id or name claim cannot be stored, or null: empty (ids only), over its bound, or
 * carrying a control character or lone surrogate.
 */
export function claimProblem(claim: 'sub' | 'name', value: string): string | null {
  const max = claim === 'sub' ? USER_ID_MAX_LENGTH : USER_NAME_MAX_LENGTH
  if (claim === 'sub' && value === '') return 'sub must not be empty'
  if (value.length > max) return `${claim} must be at most ${max} characters`
  if (forbiddenCharacterAt(value) >= 0) return `${claim} must not contain control characters`
  return null
}

/** A user id argument (e.g. itemInfos(ownerId:)): one no token could carry is BAD_USER_INPUT. */
export function requireUserId(value: string, what = 'user id'): string {
  if (value === '' || value.length > USER_ID_MAX_LENGTH)
    throw badInput(`${what} must be 1 to ${USER_ID_MAX_LENGTH} characters`)
  return value
}

export const IDENTITY_HEADER = 'x-gdmarket-caller'
export const INTERNAL_SECRET_HEADER = 'x-gdmarket-internal-secret'
export const CORRELATION_HEADER = 'x-correlation-id'

export const encodeCaller = (caller: Caller): string => Buffer.from(JSON.stringify(caller)).toString('base64url')

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

type Headers = Record<string, string | string[] | undefined>
const header = (headers: Headers, name: string): string | undefined => {
  const v = headers[name]
  return Array.isArray(v) ? v[0] : v
}

/** True when the request carries the internal secret, i.e. comes from another GDmarket process. */
export function isInternalRequest(headers: Headers, secret: string): boolean {
  const given = header(headers, INTERNAL_SECRET_HEADER)
  return given !== undefined && sameSecret(given, secret)
}

/** The caller forwarded by the router, null for an anonymous request; an identity without the secret is refused. */
export function callerFromHeaders(headers: Headers, secret: string): Caller | null {
  const encoded = header(headers, IDENTITY_HEADER)
  if (encoded === undefined) return null
  if (!isInternalRequest(headers, secret)) throw unauthenticated('identity is accepted only from the router')
  try {
    const c = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as Caller
    if (typeof c.userId !== 'string' || typeof c.name !== 'string' || !Array.isArray(c.roles)) throw new Error('shape')
    if (claimProblem('sub', c.userId) || claimProblem('name', c.name)) throw new Error('claims')
    return { userId: c.userId, name: c.name, roles: c.roles.filter((r): r is Role => ROLES.includes(r)) }
  } catch {
    throw unauthenticated('malformed identity header')
  }
}

export function requireCaller(caller: Caller | null): Caller {
  if (!caller) throw unauthenticated()
  return caller
}

export function requireRole(caller: Caller | null, role: Role): Caller {
  const c = requireCaller(caller)
  if (!c.roles.includes(role)) throw forbidden(`the ${role} role is required`)
  return c
}
