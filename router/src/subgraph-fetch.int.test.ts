// The subgraph HTTP client against real sockets: connections are reused, and a slow or oversized
// answer is cut off at its limit.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { SubgraphUnreachableError, createSubgraphFetch } from './subgraph-fetch.js'

let server: http.Server
let base: string
const sockets = new Set<unknown>()

beforeAll(async () => {
  server = http.createServer((req, res) => {
    sockets.add(req.socket)
    if (req.url === '/slow') return // never answers
    if (req.url === '/big') return void res.end('x'.repeat(10_000))
    req.resume()
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { method: req.method } })))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

const limits = { subgraphTimeoutMs: 200, subgraphMaxSockets: 4, subgraphMaxResponseBytes: 1024, subgraphKeepAliveMs: 5_000 }

describe('createSubgraphFetch', () => {
  it('answers like fetch and reuses the connection', async () => {
    const { fetcher, close } = createSubgraphFetch(limits)
    try {
      sockets.clear()
      for (let i = 0; i < 3; i++) {
        const res = await fetcher(`${base}/ok`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
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
})
