// Who is calling: the router is the only place that verifies tokens. No Authorization header means
// an anonymous caller (public catalogue queries work without one); a header that is present but
// not a valid HS256 token with our claims fails the whole request with UNAUTHENTICATED, so a client
// with a broken token learns it at once instead of silently acting as anonymous. A token must
// expire (exp), may not live longer than JWT_MAX_LIFETIME_S, and must name JWT_ISSUER /
// JWT_AUDIENCE when those are set; JWT_CLOCK_TOLERANCE_S absorbs clock skew between machines.
import { SignJWT, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose'
import { GraphQLError } from 'graphql'
import { HeaderMap } from '@apollo/server'
import { DEV_JWT_SECRET, type ConfigReader, type RuntimeMode } from '@gdmarket/platform/config'
import { claimProblem, ROLES, type Caller, type Role } from '@gdmarket/platform/identity'

/** How tokens are checked (and minted by `npm run token`). */
export interface TokenPolicy {
  /** JWT_SECRET: the HS256 key. */
  secret: string
  /** JWT_ISSUER: when set, the `iss` every token must carry. */
  issuer?: string
  /** JWT_AUDIENCE: when set, an `aud` every token must include. */
  audience?: string
  /** JWT_MAX_LIFETIME_S: the longest a token may be valid (exp − iat, and exp − now). */
  maxLifetimeSeconds: number
  /** JWT_CLOCK_TOLERANCE_S: seconds of clock skew allowed on exp, nbf and the lifetime. */
  clockToleranceSeconds: number
  /** JWT_VERIFIED_CACHE_SIZE: tokens remembered as verified until they expire (0: verify every time). */
  verifiedCacheSize?: number
}

export const DEFAULT_TOKEN_LIFETIME_S = 24 * 60 * 60

export function readTokenPolicy(r: ConfigReader, mode: RuntimeMode): TokenPolicy {
  const issuer = r.string('JWT_ISSUER', '')
  const audience = r.string('JWT_AUDIENCE', '')
  return {
    secret: r.secret('JWT_SECRET', DEV_JWT_SECRET, mode),
    issuer: issuer || undefined,
    audience: audience || undefined,
    maxLifetimeSeconds: r.int('JWT_MAX_LIFETIME_S', DEFAULT_TOKEN_LIFETIME_S, { min: 60, max: 365 * 24 * 60 * 60 }),
    clockToleranceSeconds: r.int('JWT_CLOCK_TOLERANCE_S', 30, { min: 0, max: 600 }),
    verifiedCacheSize: r.int('JWT_VERIFIED_CACHE_SIZE', DEFAULT_VERIFIED_CACHE_SIZE, { min: 0, max: 1_000_000 }),
  }
}

export const DEFAULT_VERIFIED_CACHE_SIZE = 10_000

/**
 * Tokens already verified, with their callers, each until its `exp`: a client sends the same token
 * with every request, and an HMAC through WebCrypto (a key import and a thread-pool job) was a tenth
 * of the router's CPU. Keyed by the whole token, signature included, so only a token that passed
 * verification is ever answered from here; the oldest is forgotten first past `size`.
 */
export class VerifiedTokens {
  private readonly callers = new Map<string, { caller: Caller; expiresAtMs: number }>()

  constructor(private readonly size: number) {}

  get(token: string, nowMs = Date.now()): Caller | undefined {
    const known = this.callers.get(token)
    if (!known) return undefined
    if (nowMs < known.expiresAtMs) return known.caller
    this.callers.delete(token)
    return undefined
  }

  remember(token: string, caller: Caller, exp: number): void {
    if (this.size === 0) return
    this.callers.delete(token)
    this.callers.set(token, {
      caller: Object.freeze({ ...caller, roles: Object.freeze([...caller.roles]) as Role[] }),
      expiresAtMs: exp * 1000,
    })
    if (this.callers.size > this.size) this.callers.delete(this.callers.keys().next().value as string)
  }

  get remembered(): number {
    return this.callers.size
  }
}

/** One cache per policy: a token verified under one secret says nothing under another. */
const verifiedUnder = new WeakMap<TokenPolicy, VerifiedTokens>()
const verifiedTokens = (policy: TokenPolicy): VerifiedTokens => {
  let verified = verifiedUnder.get(policy)
  if (!verified) {
    verified = new VerifiedTokens(policy.verifiedCacheSize ?? DEFAULT_VERIFIED_CACHE_SIZE)
    verifiedUnder.set(policy, verified)
  }
  return verified
}

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

/**
 * Verifies a token and returns its caller; throws an UNAUTHENTICATED GraphQLError otherwise. A token
 * verified before under the same policy is answered from memory until its `exp`.
 */
export async function verifyToken(token: string, policy: TokenPolicy): Promise<Caller> {
  const verified = verifiedTokens(policy)
  const known = verified.get(token)
  if (known) return known
  const { caller, exp } = await checkToken(token, policy)
  verified.remember(token, caller, exp)
  return caller
}

async function checkToken(token: string, policy: TokenPolicy): Promise<{ caller: Caller; exp: number }> {
  let payload: JWTPayload
  try {
    ;({ payload } = await jwtVerify(token, keyOf(policy.secret), {
      algorithms: [ALGORITHM],
      requiredClaims: ['exp'],
      issuer: policy.issuer,
      audience: policy.audience,
      clockTolerance: policy.clockToleranceSeconds,
    }))
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw unauthenticatedError('the token has expired')
    if (err instanceof joseErrors.JWTClaimValidationFailed) {
      if (err.claim === 'exp') throw unauthenticatedError('the token has no expiry (exp)')
      if (err.claim === 'iss') throw unauthenticatedError('the token is not from the expected issuer (iss)')
      if (err.claim === 'aud') throw unauthenticatedError('the token is not for this audience (aud)')
    }
    throw unauthenticatedError('the token is not valid')
  }
  const { sub, name, roles, exp, iat } = payload
  // Counted from now as well as from iat, so a token without iat cannot be minted for years.
  const longest = policy.maxLifetimeSeconds + policy.clockToleranceSeconds
  const now = Math.floor(Date.now() / 1000)
  if (exp === undefined || exp - now > longest || (typeof iat === 'number' && exp - iat > longest))
    throw unauthenticatedError(`the token is valid for longer than ${policy.maxLifetimeSeconds} s`)
  if (typeof sub !== 'string' || sub === '') throw unauthenticatedError('the token has no subject (sub)')
  if (typeof name !== 'string') throw unauthenticatedError('the token has no name claim')
  const problem = claimProblem('sub', sub) ?? claimProblem('name', name)
  if (problem) throw unauthenticatedError(`the token's ${problem}`)
  if (!Array.isArray(roles) || !roles.every(isRole))
    throw unauthenticatedError(`the token's roles must be an array of ${ROLES.join(', ')}`)
  return { caller: { userId: sub, name, roles: [...new Set(roles)] }, exp }
}

/** The caller named by an Authorization header value: null when there is none. */
export async function callerFromAuthorization(
  header: string | string[] | undefined,
  policy: TokenPolicy,
): Promise<Caller | null> {
  const value = Array.isArray(header) ? header[0] : header
  if (value === undefined || value.trim() === '') return null
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value)
  if (!match) throw unauthenticatedError('the Authorization header must be "Bearer <token>"')
  return verifyToken(match[1], policy)
}

export interface SignOptions {
  /** A jose time span ("2h", "7d") or seconds; default one day, or the policy's maximum if shorter. */
  expiresIn?: string | number
}

/** What signing needs of a policy; a bare secret stands for one without issuer and audience. */
export type SigningPolicy = string | (Pick<TokenPolicy, 'secret' | 'issuer' | 'audience'> & Partial<TokenPolicy>)

/** Signs a token for a caller (the token script and tests), with the policy's issuer and audience. */
export async function signToken(
  caller: Caller,
  policy: SigningPolicy,
  { expiresIn }: SignOptions = {},
): Promise<string> {
  const {
    secret,
    issuer,
    audience,
    maxLifetimeSeconds = DEFAULT_TOKEN_LIFETIME_S,
  } = typeof policy === 'string' ? { secret: policy } : policy
  const lifetime = expiresIn ?? Math.min(DEFAULT_TOKEN_LIFETIME_S, maxLifetimeSeconds)
  const expiration = typeof lifetime === 'number' ? Math.floor(Date.now() / 1000) + lifetime : lifetime
  const jwt = new SignJWT({ name: caller.name, roles: caller.roles })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setSubject(caller.userId)
    .setIssuedAt()
    .setExpirationTime(expiration)
  if (issuer) jwt.setIssuer(issuer)
  if (audience) jwt.setAudience(audience)
  return jwt.sign(keyOf(secret))
}
