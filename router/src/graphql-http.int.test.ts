// The GraphQL over HTTP spec's conformance audits (graphql-http's serverAudits) against the real
// router: no audit may end in an error. Several audits query `__type`, which production refuses
// (no introspection there), so the router runs in test mode, which serves it like development.
// A client that follows the spec sends no apollo-require-preflight header, so GET requests would
// meet Apollo's CSRF guard; the audits' fetch adds the header, as a configured client does.
// Warnings are allowed: Apollo answers parse and validation failures with 400 where the spec
// prefers 200 for application/json.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { serverAudits } from 'graphql-http'
import { readRouterConfig } from './config.js'
import { buildRouter, type Router } from './server.js'
import { downSubgraphUrl, startStubSubgraph, type StubSubgraph } from './testing/stub-subgraphs.js'

let item: StubSubgraph
let router: Router
let url: string

beforeAll(async () => {
  item = await startStubSubgraph('item')
  const config = readRouterConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    ITEM_URL: item.url,
    RESERVATION_URL: await downSubgraphUrl(),
    PAYMENT_URL: await downSubgraphUrl(),
    PROJECTIONS_URL: await downSubgraphUrl(),
    NATS_STREAM: `TAUDIT${process.pid}`,
  })
  router = buildRouter(config)
  url = `http://127.0.0.1:${await router.service.start()}/graphql`
})

afterAll(async () => {
  await router?.service.stop()
  await item?.stop()
})

const withPreflightHeader: typeof fetch = (input, init = {}) => {
  const headers = new Headers(init.headers)
  headers.set('apollo-require-preflight', 'true')
  return fetch(input, { ...init, headers })
}

describe('GraphQL over HTTP audits', () => {
  it('passes every audit without an error', async () => {
    const results = []
    for (const audit of serverAudits({ url: () => url, fetchFn: withPreflightHeader })) {
      const result = await audit.fn()
      results.push({
        id: audit.id,
        name: audit.name,
        status: result.status,
        reason: 'reason' in result ? result.reason : undefined,
      })
    }
    expect(results.length).toBeGreaterThan(20)
    expect(results.filter(r => r.status === 'error')).toEqual([])
  })
})
