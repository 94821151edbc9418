import { describe, expect, it } from '@jest/globals'
import { MemoryBuckets, clientAddress, rateLimitedError } from './rate-limit.js'

describe('MemoryBuckets', () => {
  const limit = { burst: 3, perSecond: 2 }

  it('lets a burst through, then refills at the rate per second', () => {
    const buckets = new MemoryBuckets(100)
    const t0 = 1_000_000
    for (let i = 0; i < 3; i++) expect(buckets.take('a', limit, t0)).toEqual({ allowed: true })
    expect(buckets.take('a', limit, t0)).toEqual({ allowed: false, retryAfterMs: 500 })
    expect(buckets.take('a', limit, t0 + 499).allowed).toBe(false)
    expect(buckets.take('a', limit, t0 + 1000).allowed).toBe(true)
    // Never more than the burst, however long the caller was quiet.
    for (let i = 0; i < 3; i++) expect(buckets.take('a', limit, t0 + 60_000).allowed).toBe(true)
    expect(buckets.take('a', limit, t0 + 60_000).allowed).toBe(false)
  })

  it('keeps callers apart and forgets the least recently used past its size', () => {
    const buckets = new MemoryBuckets(2)
    buckets.take('a', { burst: 1, perSecond: 1 }, 0)
    expect(buckets.take('b', { burst: 1, perSecond: 1 }, 0).allowed).toBe(true)
    buckets.take('c', { burst: 1, perSecond: 1 }, 0)
    expect(buckets.size).toBe(2)
    // `a` was evicted: it starts again with a full bucket.
    expect(buckets.take('a', { burst: 1, perSecond: 1 }, 0).allowed).toBe(true)
  })
})

describe('clientAddress', () => {
  it('is the peer unless proxies are trusted', () => {
    expect(clientAddress('10.0.0.9', '1.2.3.4', 0)).toBe('10.0.0.9')
    expect(clientAddress('10.0.0.9', undefined, 1)).toBe('10.0.0.9')
  })

  it('takes the entry the trusted proxy appended, not what the client forged before it', () => {
    expect(clientAddress('10.0.0.9', 'forged, 203.0.113.7', 1)).toBe('203.0.113.7')
    expect(clientAddress('10.0.0.9', 'forged, 203.0.113.7, 10.0.0.2', 2)).toBe('203.0.113.7')
  })
})

describe('rateLimitedError', () => {
  it('is RATE_LIMITED with HTTP 429 and Retry-After in whole seconds', () => {
    const error = rateLimitedError(1200)
    expect(error.extensions.code).toBe('RATE_LIMITED')
    const http = error.extensions.http as { status: number; headers: Map<string, string> }
    expect(http.status).toBe(429)
    expect(http.headers.get('retry-after')).toBe('2')
  })
})
