// Rate limiting per caller: a token bucket per user id (a valid token), else per client address.
// Each request takes one token; a bucket holds at most its burst and refills at its rate per
// second. An empty bucket answers RATE_LIMITED with HTTP 429 and Retry-After. With REDIS_URL the
// buckets live in Redis (one atomic script per request, on Redis's clock), so every router
// instance draws on the same budget; without it, in this process's memory. While Redis is
// unreachable each instance falls back to its own memory buckets rather than refusing everyone.
import { HeaderMap } from '@apollo/server'
import { GraphQLError } from 'graphql'
import { Redis } from 'ioredis'
import type { ConfigReader } from '@gdmarket/platform/config'
import type { Caller } from '@gdmarket/platform/identity'
import type { Logger } from '@gdmarket/platform/logger'

export interface BucketLimit {
  /** Requests that may come at once after a quiet spell. */
  burst: number
  /** Requests per second refilled. */
  perSecond: number
}

export interface RateLimits {
  /** RATE_LIMIT_ENABLED (1): 0 turns rate limiting off (benchmarks, tests that are not about it). */
  enabled: boolean
  /** RATE_LIMIT_USER_BURST / RATE_LIMIT_USER_PER_SECOND: per user id of a valid token. */
  user: BucketLimit
  /** RATE_LIMIT_ANONYMOUS_BURST / RATE_LIMIT_ANONYMOUS_PER_SECOND: per client address without a token. */
  anonymous: BucketLimit
  /** REDIS_URL: shared buckets for every router instance; unset, buckets are per process. */
  redisUrl?: string
  /** RATE_LIMIT_REDIS_PREFIX: key prefix in Redis (tests use their own). */
  redisPrefix: string
  /** RATE_LIMIT_MEMORY_KEYS: most buckets kept in memory; the least recently used go first. */
  memoryKeys: number
  /** TRUST_PROXY_HOPS (0): proxies in front of the router whose X-Forwarded-For entries are trusted. */
  trustProxyHops: number
}

export function readRateLimits(r: ConfigReader): RateLimits {
  const redisUrl = r.string('REDIS_URL', '')
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl)) r.problem(`REDIS_URL must be a redis:// URL, got "${redisUrl}"`)
  const bucket = (name: string, burst: number, perSecond: number): BucketLimit => ({
    burst: r.int(`RATE_LIMIT_${name}_BURST`, burst, { min: 1, max: 1_000_000 }),
    perSecond: r.int(`RATE_LIMIT_${name}_PER_SECOND`, perSecond, { min: 1, max: 1_000_000 }),
  })
  return {
    enabled: r.oneOf('RATE_LIMIT_ENABLED', ['0', '1'] as const, '1') === '1',
    user: bucket('USER', 200, 50),
    anonymous: bucket('ANONYMOUS', 100, 20),
    redisUrl: redisUrl || undefined,
    redisPrefix: r.string('RATE_LIMIT_REDIS_PREFIX', 'gdmarket:ratelimit:'),
    memoryKeys: r.int('RATE_LIMIT_MEMORY_KEYS', 100_000, { min: 100, max: 10_000_000 }),
    trustProxyHops: r.int('TRUST_PROXY_HOPS', 0, { min: 0, max: 10 }),
  }
}

/** A taken token, or how long until one is there. */
export type Verdict = { allowed: true } | { allowed: false; retryAfterMs: number }

export interface RateLimiter {
  /** Takes one token from the caller's bucket. */
  take(caller: Caller | null, clientAddress: string | undefined): Promise<Verdict>
  close(): Promise<void>
}

export function rateLimitedError(retryAfterMs: number): GraphQLError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000))
  return new GraphQLError(`too many requests; try again in ${seconds} s`, {
    extensions: {
      code: 'RATE_LIMITED',
      http: { status: 429, headers: new HeaderMap([['retry-after', String(seconds)]]) },
    },
  })
}

/** The client's address: the peer, or with trusted proxies the entry they appended to X-Forwarded-For. */
export function clientAddress(
  remoteAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustProxyHops: number,
): string | undefined {
  if (trustProxyHops === 0 || forwardedFor === undefined) return remoteAddress
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map(h => h.trim())
    .filter(Boolean)
  // Each trusted proxy appended the address it saw; anything to the left of those may be forged.
  return hops[hops.length - trustProxyHops] ?? hops[0] ?? remoteAddress
}

/** One bucket in memory: tokens left as of `at` (ms). */
interface Bucket {
  tokens: number
  at: number
}

export class MemoryBuckets {
  private readonly buckets = new Map<string, Bucket>()
  constructor(private readonly maxKeys: number) {}

  take(key: string, limit: BucketLimit, now = Date.now()): Verdict {
    const known = this.buckets.get(key)
    const bucket = known ?? { tokens: limit.burst, at: now }
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.at) * limit.perSecond) / 1000)
    bucket.at = now
    // Re-inserted so the Map's order is least recently used first.
    this.buckets.delete(key)
    this.buckets.set(key, bucket)
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value ?? '')
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return { allowed: true }
    }
    return { allowed: false, retryAfterMs: Math.ceil(((1 - bucket.tokens) * 1000) / limit.perSecond) }
  }

  get size(): number {
    return this.buckets.size
  }
}

// KEYS[1] bucket; ARGV burst, perSecond. Redis's own clock, so instances with skewed clocks agree.
// Returns {allowed (0|1), ms until the next token}.
const TAKE_SCRIPT = `
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then tokens = burst; at = now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, wait}
`

const keyOf = (caller: Caller | null, address: string | undefined) =>
  caller ? `user:${caller.userId}` : `addr:${address ?? 'unknown'}`

export function createRateLimiter(limits: RateLimits, logger: Logger): RateLimiter {
  const memory = new MemoryBuckets(limits.memoryKeys)
  const limitOf = (caller: Caller | null) => (caller ? limits.user : limits.anonymous)
  if (!limits.enabled) return { take: async () => ({ allowed: true }), close: async () => {} }
  if (!limits.redisUrl)
    return {
      take: async (caller, address) => memory.take(keyOf(caller, address), limitOf(caller)),
      close: async () => {},
    }

  const redis = new Redis(limits.redisUrl, {
    // A request must not wait for Redis to come back: fail fast and use the memory bucket.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    commandTimeout: 500,
  })
  redis.defineCommand('takeToken', { numberOfKeys: 1, lua: TAKE_SCRIPT })
  const takeToken = (key: string, burst: number, perSecond: number) =>
    (redis as unknown as Record<string, (...args: unknown[]) => Promise<[number, number]>>).takeToken(
      key,
      burst,
      perSecond,
    )
  // Until the first connection is made (start-up), a request waits for it rather than counting
  // against a bucket no other instance sees; after that, an outage falls back at once.
  let connectedOnce = false
  const firstConnection = new Promise<void>(resolve => {
    const timer = setTimeout(resolve, 2_000)
    timer.unref()
    redis.once('ready', () => {
      connectedOnce = true
      clearTimeout(timer)
      resolve()
    })
  })
  let warnedAt = 0
  redis.on('error', err => {
    if (Date.now() - warnedAt < 10_000) return
    warnedAt = Date.now()
    logger.warn({ err: err.message }, 'rate limiting: Redis unreachable, using per-instance buckets')
  })
  return {
    async take(caller, address) {
      const key = keyOf(caller, address)
      const limit = limitOf(caller)
      if (!connectedOnce) await firstConnection
      try {
        const [allowed, wait] = await takeToken(`${limits.redisPrefix}${key}`, limit.burst, limit.perSecond)
        return allowed === 1 ? { allowed: true } : { allowed: false, retryAfterMs: wait }
      } catch {
        return memory.take(key, limit)
      }
    },
    async close() {
      redis.disconnect()
    },
  }
}

/**
 * For queries and mutations sent over an open WebSocket or stream, which bypass the HTTP request
 * hook: a signed-in caller draws on the same bucket as over HTTP (so every mutation is counted).
 * Anonymous operations there are bounded by the connection caps instead: the socket's address is
 * not known here, and one shared bucket would let one client starve every other.
 */
export async function rateLimitedOperation(
  limiter: RateLimiter,
  caller: Caller | null,
): Promise<GraphQLError | undefined> {
  if (!caller) return undefined
  const verdict = await limiter.take(caller, undefined)
  if (verdict.allowed) return undefined
  const seconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000))
  return new GraphQLError(`too many requests; try again in ${seconds} s`, {
    extensions: { code: 'RATE_LIMITED', retryAfterSeconds: seconds },
  })
}
