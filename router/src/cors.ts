// CORS for browsers on other origins (Apollo Studio, the embedded Sandbox, a web client in
// development): the router answers preflights itself and marks responses readable for the origins
// in CORS_ORIGINS. Development allows Studio's and the Sandbox's origins and http://localhost:*;
// production allows only what is listed. Tokens travel in the Authorization header, never in
// cookies, so credentials are not allowed.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ConfigReader, RuntimeMode } from '@gdmarket/platform/config'
import { CORRELATION_HEADER } from '@gdmarket/platform/identity'

export const DEVELOPMENT_CORS_ORIGINS = [
  'https://studio.apollographql.com',
  'https://sandbox.embed.apollographql.com',
  'http://localhost:*',
]

/** Request headers a page may send: what Apollo Studio, Apollo Client and our clients use. */
export const CORS_ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'apollographql-client-name',
  'apollographql-client-version',
  'idempotency-key',
  CORRELATION_HEADER,
]
/** Response headers a page may read besides the safelisted ones. */
const EXPOSED_HEADERS = ['retry-after', CORRELATION_HEADER]
const ALLOWED_METHODS = 'GET, POST, OPTIONS'

export interface CorsPolicy {
  /** CORS_ORIGINS: exact origins, or `scheme://host:*` for any port of a host. */
  origins: string[]
  /** CORS_MAX_AGE_S: how long a browser may cache a preflight answer. */
  maxAgeSeconds: number
}

const ORIGIN = /^(https?):\/\/([a-z0-9.-]+|\[[0-9a-f:]+\])(:(\d{1,5}|\*))?$/i

export function readCorsPolicy(r: ConfigReader, mode: RuntimeMode): CorsPolicy {
  const fallback = mode === 'production' ? '' : DEVELOPMENT_CORS_ORIGINS.join(',')
  const raw = r.string('CORS_ORIGINS', fallback).trim()
  const origins = raw
    .split(',')
    .map(o => o.trim().replace(/\/$/, ''))
    .filter(Boolean)
  for (const o of origins)
    if (!ORIGIN.test(o))
      r.problem(`CORS_ORIGINS must list origins like https://app.example.com or http://localhost:*, got "${o}"`)
  return { origins, maxAgeSeconds: r.int('CORS_MAX_AGE_S', 600, { min: 0, max: 86_400 }) }
}

/** Whether a browser's Origin header names an origin the policy allows. */
export function originAllowed(policy: CorsPolicy, origin: string): boolean {
  const match = ORIGIN.exec(origin)
  if (!match || match[4] === '*') return false
  const [, scheme, host] = match
  return policy.origins.some(allowed => {
    if (allowed.toLowerCase() === origin.toLowerCase()) return true
    const pattern = ORIGIN.exec(allowed)
    return (
      pattern?.[4] === '*' &&
      pattern[1].toLowerCase() === scheme.toLowerCase() &&
      pattern[2].toLowerCase() === host.toLowerCase()
    )
  })
}

/**
 * The platform's `intercept` hook: adds CORS headers for an allowed origin and answers preflights
 * (204 for an allowed origin, 403 otherwise). Requests without an Origin pass untouched.
 */
export function corsInterceptor(policy: CorsPolicy): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const origin = req.headers.origin
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined
    if (typeof origin !== 'string') return false
    res.appendHeader('vary', 'Origin')
    const allowed = originAllowed(policy, origin)
    if (allowed) {
      res.setHeader('access-control-allow-origin', origin)
      res.setHeader('access-control-expose-headers', EXPOSED_HEADERS.join(', '))
    }
    if (!preflight) return false
    req.resume()
    if (!allowed) {
      res.writeHead(403, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          errors: [{ message: `origin ${origin} is not allowed (CORS_ORIGINS)`, extensions: { code: 'FORBIDDEN' } }],
        }),
      )
      return true
    }
    res.setHeader('access-control-allow-methods', ALLOWED_METHODS)
    res.setHeader('access-control-allow-headers', CORS_ALLOWED_HEADERS.join(', '))
    res.setHeader('access-control-max-age', String(policy.maxAgeSeconds))
    // Chromium asks before a public page (Studio) may call a private address (a router on localhost).
    if (req.headers['access-control-request-private-network'] === 'true')
      res.setHeader('access-control-allow-private-network', 'true')
    res.writeHead(204).end()
    return true
  }
}
