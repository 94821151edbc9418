// Operation limits through the real router (HTTP and WebSocket) in front of stand-in subgraphs:
// every refusal is QUERY_TOO_COMPLEX with HTTP 400 and reaches no subgraph.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createClient } from 'graphql-ws'
import WebSocket from 'ws'
import { readRouterConfig } from './config.js'
import { buildRouter, type Router } from './server.js'
import { downSubgraphUrl, startStubSubgraph, type StubSubgraph } from './testing/stub-subgraphs.js'

interface Body {
  data?: unknown
  errors?: { message: string; extensions?: Record<string, unknown> }[]
}

let item: StubSubgraph
let reservation: StubSubgraph
let router: Router
let base: string

async function post(body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Body }> {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as Body }
}
const subgraphRequests = () => item.requests.length + reservation.requests.length
const codes = (body: Body) => body.errors?.map(e => e.extensions?.code)

beforeAll(async () => {
  ;[item, reservation] = await Promise.all([startStubSubgraph('item'), startStubSubgraph('reservation')])
  const config = readRouterConfig({
    NODE_ENV: 'production',
    JWT_SECRET: 'a-production-jwt-secret-for-tests',
    INTERNAL_SECRET: 'a-production-internal-secret',
    SHUTDOWN_GRACE_MS: '0',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    ITEM_URL: item.url,
    RESERVATION_URL: reservation.url,
    PAYMENT_URL: await downSubgraphUrl(),
    PROJECTIONS_URL: await downSubgraphUrl(),
    MAX_QUERY_COST: '120',
    NATS_STREAM: `TLIMITS${process.pid}`,
  })
  router = buildRouter(config)
  base = `http://127.0.0.1:${await router.service.start()}`
})

afterAll(async () => {
  await router?.service.stop()
  await Promise.all([item?.stop(), reservation?.stop()])
})

const aliasBomb = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: items { id }`).join(' ')} }`

describe('operation limits over HTTP', () => {
  it('refuses the alias bomb of 2,000 `items` with QUERY_TOO_COMPLEX before any subgraph is asked', async () => {
    const before = subgraphRequests()
    const { status, body } = await post({ query: aliasBomb(2000) })
    expect(status).toBe(400)
    expect(codes(body)).toContain('QUERY_TOO_COMPLEX')
    expect(body.errors?.every(e => e.extensions?.code === 'QUERY_TOO_COMPLEX')).toBe(true)
    expect(subgraphRequests()).toBe(before)
  })

  it('names the limit: aliases, mutation root fields, depth, directives, tokens, cost', async () => {
    const refused = async (query: string, variables?: Record<string, unknown>) => {
      const { status, body } = await post({ query, variables })
      expect(status).toBe(400)
      expect(new Set(codes(body))).toEqual(new Set(['QUERY_TOO_COMPLEX']))
      expect(JSON.stringify(body)).not.toMatch(/stacktrace|\.ts:\d/)
      return body.errors?.map(e => e.extensions?.limit)
    }
    const before = subgraphRequests()
    expect(await refused(aliasBomb(31))).toContain('MAX_QUERY_ALIASES')
    const mutations = Array.from({ length: 4 }, (_, i) => `m${i}: deleteItem(id: "x") { id }`).join(' ')
    expect(await refused(`mutation { ${mutations} }`)).toEqual(['MAX_MUTATION_ROOT_FIELDS'])
    const deep = `{ reservations { ${'payment { reservation { '.repeat(6)}id${' } }'.repeat(6)} } }`
    expect(await refused(deep)).toEqual(['MAX_QUERY_DEPTH'])
    const directives = Array.from({ length: 31 }, () => 'id @skip(if: false)').join(' ')
    expect(await refused(`{ items { ${directives} } }`)).toEqual(['MAX_QUERY_DIRECTIVES'])
    expect(await refused(`{ items { ${'id '.repeat(3000)} } }`)).toEqual(['MAX_QUERY_TOKENS'])
    // Three lists of the assumed 50 each; MAX_QUERY_COST is 120 here.
    expect(await refused('{ a: items { id } b: items { id } c: reservations { id } }')).toEqual(['MAX_QUERY_COST'])
    expect(subgraphRequests()).toBe(before)
  })

  it('serves an operation within every limit', async () => {
    const { status, body } = await post({ query: '{ a: items { id } b: reservations { id } }' })
    expect(status).toBe(200)
    expect(body.errors).toBeUndefined()
  })

  it('answers batches, bad JSON and other malformed requests with a contract code', async () => {
    const batch = await post([{ query: '{ items { id } }' }, { query: '{ items { id } }' }])
    expect(batch.status).toBe(400)
    expect(codes(batch.body)).toEqual(['BAD_USER_INPUT'])
    const badJson = await post('{"query": ')
    expect(badJson.status).toBe(400)
    expect(codes(badJson.body)).toEqual(['BAD_USER_INPUT'])
    const notAString = await post({ query: 42 })
    expect(codes(notAString.body)).toEqual(['BAD_USER_INPUT'])
    const unknownOperation = await post({ query: 'query A { items { id } }', operationName: 'B' })
    expect([unknownOperation.status, codes(unknownOperation.body)]).toEqual([400, ['BAD_USER_INPUT']])
    const unnamed = await post({ query: 'query A { items { id } } query B { items { id } }' })
    expect([unnamed.status, codes(unnamed.body)]).toEqual([400, ['BAD_USER_INPUT']])
    const wrongHash = await post({
      query: '{ items { id } }',
      extensions: { persistedQuery: { version: 1, sha256Hash: '00' } },
    })
    expect([wrongHash.status, codes(wrongHash.body)]).toEqual([400, ['BAD_USER_INPUT']])
    const twoWrites = await post({ query: 'mutation { a: deleteItem(id: "x") { id } b: deleteItem(id: "y") { id } }' })
    expect([twoWrites.status, codes(twoWrites.body)]).toEqual([400, ['QUERY_TOO_COMPLEX']])
    // Node's own parser refuses a URL over 16 KiB; the answer is still JSON with a contract code.
    const hugeGet = await fetch(`${base}/graphql?query=${'x'.repeat(20_000)}`)
    expect(hugeGet.status).toBe(431)
    expect(codes((await hugeGet.json()) as Body)).toEqual(['BAD_USER_INPUT'])
  })
})

describe('operation limits over WebSocket', () => {
  it('refuses the same operations with QUERY_TOO_COMPLEX', async () => {
    const client = createClient({
      url: `${base.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: true,
    })
    const run = (query: string) =>
      new Promise<unknown[]>(resolve => {
        const errors: unknown[] = []
        client.subscribe(
          { query },
          {
            next: result => errors.push(...(result.errors ?? [])),
            error: err => resolve(Array.isArray(err) ? err : [err]),
            complete: () => resolve(errors),
          },
        )
      })
    try {
      const before = subgraphRequests()
      for (const query of [aliasBomb(100), `subscription { itemInfoChanged { ${'itemId '.repeat(3000)} } }`]) {
        const errors = (await run(query)) as { extensions?: { code?: string } }[]
        expect(JSON.stringify(errors)).not.toContain('http')
        expect(new Set(errors.map(e => e.extensions?.code))).toEqual(new Set(['QUERY_TOO_COMPLEX']))
      }
      expect(subgraphRequests()).toBe(before)
    } finally {
      await client.dispose()
    }
  })
})
