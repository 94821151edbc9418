// Who is calling: the router is the only place that verifies tokens. No Authorization header means
// an anonymous caller (public catalogue queries work without one); a header that is present but
// not a valid, unexpired HS256 token with our claims fails the whole request with UNAUTHENTICATED,
// so a client with a broken token learns it at once instead of silently acting as anonymous.
import { SignJWT, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose'
import { GraphQLError } from 'graphql'
import { HeaderMap } from '@apollo/server'
import { ROLES, type Caller, type Role } from '@gdmarket/platform/identity'

const ALGORITHM = 'HS256'

const keyOf = (secret: string): Uint8Array => new TextEncoder().encode(secret)

export function unauthenticatedError(message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: {
      code: 'UNAUTHENTICATED',
      // Apollo Server uses this for the HTTP status and strips it from the response body.
      http: { status: 401, headers: new HeaderMap([['www-authenticate', `Bearer error="invalid_token"`]]) },
    },
  })
}

const isRole = (value: unknown): value is Role =>
  typeof value === 'string' && (ROLES as readonly string[]).includes(value)

/** Verifies a token and returns its caller; throws an UNAUTHENTICATED GraphQLError otherwise. */
export async function verifyToken(token: string, secret: string): Promise<Caller> {
  let payload: JWTPayload
  try {
    ;({ payload } = await jwtVerify(token, keyOf(secret), { algorithms: [ALGORITHM] }))
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw unauthenticatedError('the token has expired')
    throw unauthenticatedError('the token is not valid')
  }
  const { sub, name, roles } = payload
  if (typeof sub !== 'string' || sub === '') throw unauthenticatedError('the token has no subject (sub)')
  if (typeof name !== 'string') throw unauthenticatedError('the token has no name claim')
  if (!Array.isArray(roles) || !roles.every(isRole))
    throw unauthenticatedError(`the token's roles must be an array of ${ROLES.join(', ')}`)
  return { userId: sub, name, roles: [...new Set(roles)] }
}

/** The caller named by an Authorization header value: null when there is none. */
export async function callerFromAuthorization(
  header: string | string[] | undefined,
  secret: string,
): Promise<Caller | null> {
  const value = Array.isArray(header) ? header[0] : header
  if (value === undefined || value.trim() === '') return null
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value)
  if (!match) throw unauthenticatedError('the Authorization header must be "Bearer <token>"')
  return verifyToken(match[1], secret)
}

export interface SignOptions {
  /** A jose time span ("2h", "7d") or seconds; default one day, convenient for development. */
  expiresIn?: string | number
}

/** Signs a token for a caller (the token script and tests). */
export async function signToken(
  caller: Caller,
  secret: string,
  { expiresIn = '24h' }: SignOptions = {},
): Promise<string> {
  const expiration = typeof expiresIn === 'number' ? Math.floor(Date.now() / 1000) + expiresIn : expiresIn
  return new SignJWT({ name: caller.name, roles: caller.roles })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setSubject(caller.userId)
    .setIssuedAt()
    .setExpirationTime(expiration)
    .sign(keyOf(secret))
}
