// The subgraph HTTP client against real sockets: connections are reused, and a slow or oversized
// answer is cut off at its limit.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { SubgraphUnreachableError, createSubgraphFetch } from './subgraph-fetch.js'

let server: http.Server
let base: string
const sockets = new Set<unknown>()
let counted = 0

beforeAll(async () => {
  server = http.createServer((req, res) => {
    sockets.add(req.socket)
    if (req.url === '/slow') return // never answers
    if (req.url === '/big') return void res.end('x'.repeat(10_000))
    if (req.url === '/counted') {
      counted++
      // Answers after a moment, so requests sent together are in flight together.
      return void setTimeout(
        () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { n: counted } })),
        50,
      )
    }
    req.resume()
    req.on('end', () =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { method: req.method } })),
    )
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise(resolve => server.close(resolve))
})

const limits = {
  subgraphTimeoutMs: 200,
  subgraphMaxSockets: 4,
  subgraphMaxResponseBytes: 1024,
  subgraphKeepAliveMs: 5_000,
}

describe('createSubgraphFetch', () => {
  it('answers like fetch and reuses the connection', async () => {
    const { fetcher, close } = createSubgraphFetch(limits)
    try {
      sockets.clear()
      for (let i = 0; i < 3; i++) {
        const res = await fetcher(`${base}/ok`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        })
        expect(res.status).toBe(200)
        expect(res.headers.get('content-type')).toBe('application/json')
        expect(await res.json()).toEqual({ data: { method: 'POST' } })
      }
      expect(sockets.size).toBe(1)
    } finally {
      close()
    }
  })

  it('gives up on a subgraph that does not answer in time', async () => {
    const { fetcher, close } = createSubgraphFetch(limits)
    const started = Date.now()
    await expect(fetcher(`${base}/slow`, { body: '{}' })).rejects.toBeInstanceOf(SubgraphUnreachableError)
    expect(Date.now() - started).toBeLessThan(2_000)
    close()
  })

  it('refuses a response over the size limit', async () => {
    const { fetcher, close } = createSubgraphFetch(limits)
    await expect(fetcher(`${base}/big`, { body: '{}' })).rejects.toThrow('over 1024 bytes')
    close()
  })

  describe('identical queries in flight', () => {
    const query = (q: string) => JSON.stringify({ query: q, variables: { id: '1' } })
    const ask = (
      fetcher: ReturnType<typeof createSubgraphFetch>['fetcher'],
      body: string,
      headers: Record<string, string>,
    ) =>
      fetcher(`${base}/counted`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      }).then(r => r.json())

    it('share one subgraph request, each with its own copy of the answer', async () => {
      const { fetcher, close } = createSubgraphFetch(limits)
      counted = 0
      const body = query('query Q__item__0($id: ID!) { item(id: $id) { id } }')
      const answers = await Promise.all(
        [1, 2, 3].map(i => ask(fetcher, body, { 'x-gdmarket-caller': 'c1', 'x-correlation-id': `r${i}` })),
      )
      expect(counted).toBe(1)
      expect(answers).toEqual([{ data: { n: 1 } }, { data: { n: 1 } }, { data: { n: 1 } }])
      expect(answers[0]).not.toBe(answers[1])
      // Once answered, the next one goes to the subgraph again.
      await ask(fetcher, body, { 'x-gdmarket-caller': 'c1' })
      expect(counted).toBe(2)
      close()
    })

    it('are not shared between callers, and mutations never are', async () => {
      const { fetcher, close } = createSubgraphFetch(limits)
      counted = 0
      const q = query('query Q__item__0($id: ID!) { item(id: $id) { id } }')
      await Promise.all([
        ask(fetcher, q, { 'x-gdmarket-caller': 'c1' }),
        ask(fetcher, q, { 'x-gdmarket-caller': 'c2' }),
      ])
      expect(counted).toBe(2)
      const m = query('mutation M__item__0($id: ID!) { returnItem(itemId: $id) { id } }')
      await Promise.all([ask(fetcher, m, {}), ask(fetcher, m, {})])
      expect(counted).toBe(4)
      close()
    })

    it('are not shared when switched off', async () => {
      const { fetcher, close } = createSubgraphFetch({ ...limits, subgraphDedupeQueries: false })
      counted = 0
      const q = query('query Q__item__0($id: ID!) { item(id: $id) { id } }')
      await Promise.all([ask(fetcher, q, {}), ask(fetcher, q, {})])
      expect(counted).toBe(2)
      close()
    })
  })
})
