// CORS checked the way a browser does it: a real Chromium on a page whose origin is Apollo Studio's
// calls the router (production mode) with Authorization and apollo-require-preflight, so it sends
// a real preflight first; a page on an origin that is not listed cannot read anything. The same
// exchange is also checked header by header.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { Browser } from 'playwright-core'
import { launchChromium } from '../../test/chromium.js'
import { signToken } from './auth.js'
import { readRouterConfig } from './config.js'
import { buildRouter, type Router } from './server.js'
import { ITEM_ID, downSubgraphUrl, startStubSubgraph, type StubSubgraph } from './testing/stub-subgraphs.js'

const STUDIO = 'https://studio.apollographql.com'
const SANDBOX = 'https://sandbox.embed.apollographql.com'
const JWT_SECRET = 'a-production-jwt-secret-for-cors'

let item: StubSubgraph
let router: Router
let url: string
let browser: Browser
/** What reached the router: method and origin of every request. */
const seen: { method?: string; origin?: string }[] = []

beforeAll(async () => {
  item = await startStubSubgraph('item')
  const config = readRouterConfig({
    NODE_ENV: 'production',
    JWT_SECRET,
    INTERNAL_SECRET: 'a-production-internal-secret',
    SHUTDOWN_GRACE_MS: '0',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    CORS_ORIGINS: `${STUDIO},${SANDBOX}`,
    ITEM_URL: item.url,
    RESERVATION_URL: await downSubgraphUrl(),
    PAYMENT_URL: await downSubgraphUrl(),
    PROJECTIONS_URL: await downSubgraphUrl(),
    NATS_STREAM: `TCORS${process.pid}`,
  })
  router = buildRouter(config)
  router.service.httpServer.on('request', req => seen.push({ method: req.method, origin: req.headers.origin }))
  url = `http://127.0.0.1:${await router.service.start()}/graphql`
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await router?.service.stop()
  await item?.stop()
})

/** A page served at `origin` (answered by the test, not the network) that then calls the router for real. */
async function fetchFrom(
  origin: string,
  token: string,
): Promise<{ status: number; body: string } | { failed: string }> {
  const context = await browser.newContext()
  try {
    // Chromium asks the user before a public site may call a local address; a Studio user says yes.
    await context.grantPermissions(['local-network-access'], { origin })
    const page = await context.newPage()
    await page.route(`${origin}/**`, route =>
      route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>Explorer</title>' }),
    )
    await page.goto(`${origin}/sandbox/explorer`)
    // Interception off again, so the browser itself sends (and checks) the preflight.
    await page.unrouteAll()
    return await page.evaluate(
      async ({ url, token }) => {
        try {
          const res = await fetch(url, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              authorization: `Bearer ${token}`,
              'apollo-require-preflight': 'true',
            },
            body: JSON.stringify({ query: '{ items { id name } }' }),
          })
          return { status: res.status, body: await res.text() }
        } catch (err) {
          return { failed: String(err) }
        }
      },
      { url, token },
    )
  } finally {
    await context.close()
  }
}

describe('CORS in a real browser', () => {
  it("lets Apollo Studio's origin call the router: preflight, then the query with its token", async () => {
    const token = await signToken({ userId: 'u-studio', name: 'Studio', roles: ['owner'] }, JWT_SECRET)
    const before = seen.length
    const answer = await fetchFrom(STUDIO, token)
    expect(answer).toEqual({ status: 200, body: expect.stringContaining(ITEM_ID) })
    expect(seen.slice(before)).toEqual([
      { method: 'OPTIONS', origin: STUDIO },
      { method: 'POST', origin: STUDIO },
    ])
  })

  it('keeps a page on an origin that is not listed from reading anything', async () => {
    const token = await signToken({ userId: 'u-evil', name: 'Evil', roles: ['owner'] }, JWT_SECRET)
    const before = seen.length
    const answer = await fetchFrom('https://evil.example', token)
    expect(answer).toEqual({ failed: expect.stringContaining('Failed to fetch') })
    // The preflight was refused, so the browser never sent the request itself.
    expect(seen.slice(before)).toEqual([{ method: 'OPTIONS', origin: 'https://evil.example' }])
  })
})

describe('CORS headers', () => {
  const preflight = (origin: string, extra: Record<string, string> = {}) =>
    fetch(url, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,apollo-require-preflight',
        ...extra,
      },
    })

  it('answers a preflight from a listed origin with what a browser needs', async () => {
    for (const origin of [STUDIO, SANDBOX]) {
      const res = await preflight(origin, { 'access-control-request-private-network': 'true' })
      expect(res.status).toBe(204)
      expect(res.headers.get('access-control-allow-origin')).toBe(origin)
      expect(res.headers.get('access-control-allow-methods')).toContain('POST')
      const allowed = res.headers.get('access-control-allow-headers')?.split(/,\s*/)
      expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type', 'apollo-require-preflight']))
      expect(res.headers.get('access-control-allow-private-network')).toBe('true')
      expect(Number(res.headers.get('access-control-max-age'))).toBeGreaterThan(0)
      expect(res.headers.get('vary')).toContain('Origin')
    }
  })

  it('refuses a preflight from an origin that is not listed (production allows only CORS_ORIGINS)', async () => {
    for (const origin of ['https://evil.example', 'http://localhost:3000']) {
      const res = await preflight(origin)
      expect(res.status).toBe(403)
      expect(res.headers.get('access-control-allow-origin')).toBeNull()
    }
  })

  it('marks the answer itself readable by a listed origin only, and leaves requests without Origin alone', async () => {
    const ask = (headers: Record<string, string>) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query: '{ items { id } }' }),
      })
    const fromStudio = await ask({ origin: STUDIO })
    expect(fromStudio.status).toBe(200)
    expect(fromStudio.headers.get('access-control-allow-origin')).toBe(STUDIO)
    expect(fromStudio.headers.get('access-control-expose-headers')).toContain('retry-after')
    const fromElsewhere = await ask({ origin: 'https://evil.example' })
    expect(fromElsewhere.headers.get('access-control-allow-origin')).toBeNull()
    const noOrigin = await ask({})
    expect(noOrigin.status).toBe(200)
    expect(noOrigin.headers.get('access-control-allow-origin')).toBeNull()
  })
})
