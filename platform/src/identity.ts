// Who is calling. The router verifies the caller's JWT and forwards the identity to subgraphs in a
// header, together with a secret shared only between GDmarket processes; subgraphs trust the
// identity header only when that secret matches, and enforce roles and ownership themselves.
import { timingSafeEqual } from 'node:crypto'
import { forbidden, unauthenticated } from './errors.js'

export type Role = 'owner' | 'renter'
export const ROLES: readonly Role[] = ['owner', 'renter']

export interface Caller {
  userId: string
  name: string
  roles: Role[]
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
