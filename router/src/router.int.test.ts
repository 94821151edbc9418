// The real router, in-process on a free port, in front of stand-in subgraphs built from the real
// SDL files. Item and reservation run; payment and projections are down.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { CORRELATION_HEADER, IDENTITY_HEADER, INTERNAL_SECRET_HEADER, encodeCaller } from '@gdmarket/platform/identity'
import { signToken } from './auth.js'
import { readRouterConfig, type RouterConfig } from './config.js'
import { SUBSCRIPTION_OVER_HTTP_MESSAGE } from './plugins.js'
import { buildRouter, type Router } from './server.js'
import {
  ITEM_ID,
  RESERVATION_ID,
  downSubgraphUrl,
  startStubSubgraph,
  type StubSubgraph,
} from './testing/stub-subgraphs.js'

interface GraphQLBody {
  data?: Record<string, unknown> | null
  errors?: { message: string; extensions?: Record<string, unknown> }[]
}

let item: StubSubgraph
let reservation: StubSubgraph
let router: Router
let config: RouterConfig
let base: string
const alice = { userId: 'u-alice', name: 'Alice', roles: ['renter' as const] }

async function post(
  query: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: GraphQLBody }> {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  })
  return { status: res.status, body: (await res.json()) as GraphQLBody }
}
const codes = (body: GraphQLBody) => body.errors?.map(e => e.extensions?.code)

beforeAll(async () => {
  ;[item, reservation] = await Promise.all([startStubSubgraph('item'), startStubSubgraph('reservation')])
  config = readRouterConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    ITEM_URL: item.url,
    RESERVATION_URL: reservation.url,
    PAYMENT_URL: await downSubgraphUrl(),
    PROJECTIONS_URL: await downSubgraphUrl(),
    MAX_QUERY_DEPTH: '6',
    // Its own (absent) stream: this test must not read the change feed `npm start` uses.
    NATS_STREAM: `TROUTER${process.pid}`,
  })
  router = buildRouter(config)
  base = `http://127.0.0.1:${await router.service.start()}`
})

afterAll(async () => {
  await router?.service.stop()
  await Promise.all([item?.stop(), reservation?.stop()])
})

describe('router', () => {
  it('answers a query that crosses two subgraphs', async () => {
    const { status, body } = await post('{ reservations { id customerName item { id name price } } }')
    expect(status).toBe(200)
    expect(body).toEqual({
      data: {
        reservations: [{ id: RESERVATION_ID, customerName: 'Bob', item: { id: ITEM_ID, name: 'Tent', price: 1200 } }],
      },
    })
  })

  it('forwards the verified caller, the internal secret and the correlation id', async () => {
    const token = await signToken(alice, config.jwtSecret)
    const before = reservation.requests.length
    const { body } = await post('{ reservations { id } }', {
      authorization: `Bearer ${token}`,
      [CORRELATION_HEADER]: 'corr-42',
    })
    expect(body.errors).toBeUndefined()
    const seen = reservation.requests.slice(before)
    expect(seen).toHaveLength(1)
    expect(seen[0][IDENTITY_HEADER]).toBe(encodeCaller(alice))
    expect(seen[0][INTERNAL_SECRET_HEADER]).toBe(config.internalSecret)
    expect(seen[0][CORRELATION_HEADER]).toBe('corr-42')
  })

  it('sends no identity for an anonymous caller, even one that forges the header', async () => {
    const before = reservation.requests.length
    await post('{ reservations { id } }', { [IDENTITY_HEADER]: encodeCaller(alice) })
    const seen = reservation.requests.slice(before)
    expect(seen).toHaveLength(1)
    expect(seen[0][IDENTITY_HEADER]).toBeUndefined()
  })

  it('refuses an invalid or expired token with UNAUTHENTICATED before asking any subgraph', async () => {
    const before = reservation.requests.length
    const wrong = await post('{ reservations { id } }', {
      authorization: `Bearer ${await signToken(alice, 'not-the-router-secret!')}`,
    })
    expect(wrong.status).toBe(401)
    expect(codes(wrong.body)).toEqual(['UNAUTHENTICATED'])
    const expired = await post('{ reservations { id } }', {
      authorization: `Bearer ${await signToken(alice, config.jwtSecret, { expiresIn: -120 })}`,
    })
    expect(codes(expired.body)).toEqual(['UNAUTHENTICATED'])
    expect(reservation.requests.length).toBe(before)
  })

  it('serves the other subgraphs while one is down', async () => {
    const { status, body } = await post(
      `{ items { id name } itemInfo(itemId: "${ITEM_ID}") { itemId } reservation(id: "${RESERVATION_ID}") { id payment { id } } }`,
    )
    expect(status).toBe(200)
    expect(body.data).toEqual({
      items: [{ id: ITEM_ID, name: 'Tent' }],
      itemInfo: null,
      reservation: { id: RESERVATION_ID, payment: null },
    })
    expect(codes(body)?.sort()).toEqual(['PAYMENT_UNAVAILABLE', 'SERVICE_UNAVAILABLE'])
    expect(JSON.stringify(body.errors)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|stacktrace/)
  })

  it('says payment may have acted when a mutation that calls it loses its answer, and only then', async () => {
    const renter = { authorization: `Bearer ${await signToken(alice, config.jwtSecret)}` }
    const lost = await post(`mutation { cancelPayment(id: "${RESERVATION_ID}") { id } }`, renter)
    expect(codes(lost.body)).toEqual(['PAYMENT_UNAVAILABLE'])
    expect(lost.body.errors?.[0].message).toMatch(/payment may have acted/)
    const unpaid = await post(`mutation { reserveItem(itemId: "${ITEM_ID}") { id } }`, renter)
    expect(codes(unpaid.body)).toEqual(['SERVICE_UNAVAILABLE'])
  })

  it('passes a subgraph error code through, without a stack trace', async () => {
    const { body } = await post(`mutation { deleteItem(id: "${ITEM_ID}") { id } }`)
    expect(body.errors).toHaveLength(1)
    expect(body.errors?.[0]).toMatchObject({
      message: 'only the owner may delete this item',
      extensions: { code: 'FORBIDDEN' },
    })
    expect(body.errors?.[0].extensions?.stacktrace).toBeUndefined()
  })

  it('answers a subscription over HTTP with a clean 400', async () => {
    const { status, body } = await post('subscription { itemInfoChanged { itemId } }')
    expect(status).toBe(400)
    expect(body.errors).toEqual([{ message: SUBSCRIPTION_OVER_HTTP_MESSAGE, extensions: { code: 'BAD_USER_INPUT' } }])
  })

  it('refuses operations nested deeper than MAX_QUERY_DEPTH', async () => {
    const { status, body } = await post(
      '{ reservations { payment { reservation { payment { reservation { payment { id } } } } } } }',
    )
    expect(status).toBe(400)
    expect(codes(body)).toEqual(['QUERY_TOO_COMPLEX'])
  })

  it('is live and ready, and exposes the API schema for WebSocket subscriptions', async () => {
    expect((await fetch(`${base}/health/live`)).status).toBe(200)
    expect((await fetch(`${base}/health/ready`)).status).toBe(200)
    expect(router.apiSchema()?.getSubscriptionType()?.getFields().itemInfoChanged).toBeDefined()
    expect(router.service.httpServer.listening).toBe(true)
  })
})
