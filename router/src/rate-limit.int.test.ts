// Rate limiting through two real routers sharing one Redis (their own key prefix), in front of
// stand-in subgraphs: the budget is shared, the answer is 429 RATE_LIMITED with Retry-After, and
// with Redis unreachable each router still limits on its own.
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createClient } from 'graphql-ws'
import { Redis } from 'ioredis'
import WebSocket from 'ws'
import { signToken } from './auth.js'
import { readRouterConfig } from './config.js'
import { buildRouter, type Router } from './server.js'
import { downSubgraphUrl, startStubSubgraph, type StubSubgraph } from './testing/stub-subgraphs.js'

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const prefix = `test:ratelimit:${randomBytes(4).toString('hex')}:`

let item: StubSubgraph
const routers: Router[] = []
const bases: string[] = []

async function startRouter(env: Record<string, string>): Promise<string> {
  const config = readRouterConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    ITEM_URL: item.url,
    RESERVATION_URL: await downSubgraphUrl(),
    PAYMENT_URL: await downSubgraphUrl(),
    PROJECTIONS_URL: await downSubgraphUrl(),
    NATS_STREAM: `TRATE${process.pid}`,
    RATE_LIMIT_ANONYMOUS_BURST: '6',
    RATE_LIMIT_ANONYMOUS_PER_SECOND: '1',
    RATE_LIMIT_USER_BURST: '4',
    RATE_LIMIT_USER_PER_SECOND: '1',
    ...env,
  })
  const router = buildRouter(config)
  routers.push(router)
  return `http://127.0.0.1:${await router.service.start()}/graphql`
}

const ask = async (url: string, token?: string) => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: '{ items { id } }' }),
  })
  const body = (await res.json()) as { errors?: { extensions?: { code?: string } }[] }
  return { status: res.status, retryAfter: res.headers.get('retry-after'), code: body.errors?.[0]?.extensions?.code }
}

beforeAll(async () => {
  item = await startStubSubgraph('item')
  bases.push(await startRouter({ REDIS_URL, RATE_LIMIT_REDIS_PREFIX: prefix }))
  bases.push(await startRouter({ REDIS_URL, RATE_LIMIT_REDIS_PREFIX: prefix }))
})

afterAll(async () => {
  await Promise.all(routers.map(r => r.service.stop()))
  await item?.stop()
  const redis = new Redis(REDIS_URL)
  const keys = await redis.keys(`${prefix}*`)
  if (keys.length) await redis.del(...keys)
  redis.disconnect()
})

describe('rate limiting', () => {
  it('shares one budget between two routers through Redis, then answers 429 RATE_LIMITED with Retry-After', async () => {
    const answers = []
    // Burst 6, refill 1/s: of 10 quick requests alternating between the routers, 6 pass (and one
    // more per second they took).
    const started = Date.now()
    for (let i = 0; i < 10; i++) answers.push(await ask(bases[i % 2]))
    const refilled = Math.floor((Date.now() - started) / 1000)
    const passed = answers.filter(a => a.status === 200).length
    const limited = answers.filter(a => a.status === 429)
    expect(passed).toBeGreaterThanOrEqual(6)
    // Separate budgets would let all 10 through. One more than the shared budget is tolerated: a
    // Redis answer slower than the command timeout (a loaded machine) is decided in memory.
    expect(passed).toBeLessThanOrEqual(6 + refilled + 1)
    expect(limited.length).toBe(10 - passed)
    for (const a of limited) {
      expect(a.code).toBe('RATE_LIMITED')
      expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1)
    }
    // Both routers refused: the budget is one, not one each.
    expect(new Set(answers.map((a, i) => (a.status === 429 ? i % 2 : -1)))).toEqual(new Set([-1, 0, 1]))
  })

  it('gives each user its own bucket, and counts bad tokens against the address', async () => {
    const alice = await signToken({ userId: 'u-alice', name: 'Alice', roles: ['renter'] }, 'gdmarket-dev-secret')
    const asAlice = []
    for (let i = 0; i < 6; i++) asAlice.push((await ask(bases[i % 2], alice)).status)
    expect(asAlice.slice(0, 4)).toEqual([200, 200, 200, 200])
    expect(asAlice.slice(5)).toEqual([429])
    // The same bucket over WebSocket: Alice's is empty, so a query sent on an open socket is refused.
    const client = createClient({
      url: bases[0].replace('http', 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${alice}` },
      retryAttempts: 0,
    })
    const run = () =>
      new Promise<unknown[]>(resolve => {
        const seen: unknown[] = []
        client.subscribe(
          { query: '{ items { id } }' },
          {
            next: r => seen.push(...(r.errors ?? []).map(e => e.extensions?.code)),
            error: () => resolve(seen),
            complete: () => resolve(seen),
          },
        )
      })
    try {
      // The bucket refills one a second: of three quick queries at most one can pass.
      const codes = [...(await run()), ...(await run()), ...(await run())]
      expect(codes).toContain('RATE_LIMITED')
      expect(codes.every(c => c === 'RATE_LIMITED')).toBe(true)
    } finally {
      await client.dispose()
    }
    // With the address's bucket empty, a forged token does not get around it.
    for (let i = 0; i < 20 && (await ask(bases[0])).status !== 429; i++);
    const forged = [await ask(bases[1], 'forged.token.value'), await ask(bases[0], 'forged.token.value')]
    expect(forged.map(a => a.status)).toContain(429)
  })

  it('falls back to per-router buckets while Redis is unreachable', async () => {
    const closed = (await downSubgraphUrl()).replace(/^http:\/\/([^/]+).*$/, 'redis://$1')
    const lonely = await startRouter({ REDIS_URL: closed, RATE_LIMIT_ANONYMOUS_BURST: '2' })
    const statuses = []
    for (let i = 0; i < 3; i++) statuses.push((await ask(lonely)).status)
    expect(statuses).toEqual([200, 200, 429])
  })
})
