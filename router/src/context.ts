// What each router request carries from the HTTP layer to the subgraph requests it causes, and how
// it is made: the caller from the token, after the caller's rate limit.
import type { Caller } from '@gdmarket/platform/identity'
import { IDEMPOTENCY_HEADER } from '@gdmarket/platform/idempotency'
import type { Logger } from '@gdmarket/platform/logger'
import type { RequestBase } from '@gdmarket/platform/service'
import { callerFromAuthorization } from './auth.js'
import type { RouterConfig } from './config.js'
import { clientAddress, type RateLimiter, rateLimitedError } from './rate-limit.js'

export interface RouterContext {
  /** The verified caller, null for an anonymous request. */
  caller: Caller | null
  correlationId: string
  logger: Logger
  /** The client's Idempotency-Key, forwarded as is to the subgraph that runs a mutation (it checks it). */
  idempotencyKey?: string | null
}

/**
 * The platform's context hook. A present but invalid token fails the request here, before any
 * subgraph is asked; it still costs its sender a request from the address's bucket, so a flood of
 * bad tokens is limited like any other.
 */
export function requestContext(
  config: Pick<RouterConfig, 'tokens' | 'rateLimits'>,
  rateLimiter: RateLimiter,
): (base: RequestBase) => Promise<RouterContext> {
  return async ({ correlationId, logger, headers, remoteAddress }) => {
    let caller: Caller | null = null
    let refused: unknown
    try {
      caller = await callerFromAuthorization(headers.authorization, config.tokens)
    } catch (err) {
      refused = err
    }
    const address = clientAddress(remoteAddress, headers['x-forwarded-for'], config.rateLimits.trustProxyHops)
    const verdict = await rateLimiter.take(caller, address)
    if (!verdict.allowed) throw rateLimitedError(verdict.retryAfterMs)
    if (refused) throw refused
    const key = headers[IDEMPOTENCY_HEADER]
    return { correlationId, logger, caller, idempotencyKey: (Array.isArray(key) ? key[0] : key) ?? null }
  }
}
