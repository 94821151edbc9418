// Every transport on /graphql with the real clients a user would run: graphql-ws's createClient,
// graphql-sse's createClient (distinct connections), and Apollo Client 4 in Node through
// GraphQLWsLink and through a plain HttpLink (multipart subscriptions). Each gets the same changes,
// the same private-field rule, the same operation limits and the same connection caps.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import WebSocket from 'ws'
import { createClient as createWsClient } from 'graphql-ws'
import { createClient as createSseClient } from 'graphql-sse'
import { ApolloClient, HttpLink, InMemoryCache, gql as apolloGql, type ApolloLink } from '@apollo/client'
import { GraphQLWsLink } from '@apollo/client/link/subscriptions'
import { eventually, gql, Stack, token } from '../../../test/harness.js'

interface Info {
  itemId: string
  version: number
  cursor: string
  reservationStatus: string | null
  customerName: string | null
}
const SELECTION = 'itemId version cursor reservationStatus customerName'
const QUERY = `subscription($id: ID!) { itemInfoChanged(itemId: $id, current: true) { ${SELECTION} } }`

// GraphQLWsLink reads the global WebSocket when graphql-ws reports errors; Node 20 has none (22 has).
;(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket

const stack = new Stack({ router: { SUBSCRIPTION_MAX_CONNECTIONS_PER_CALLER: '8', SUBSCRIPTION_HEARTBEAT_MS: '200' } })
const disposers: (() => unknown)[] = []
let owner: string
let renter: string
const url = () => `${stack.url('router')}/graphql`.replace(/\/graphql\/graphql$/, '/graphql')

interface Seen {
  received: Info[]
  errors: { message?: string; extensions?: { code?: string } }[]
  done: boolean
}
const seen = (): Seen => ({ received: [], errors: [], done: false })
const sink = (s: Seen) => ({
  next: (r: { data?: unknown; errors?: readonly unknown[] | null }) => {
    const info = (r.data as { itemInfoChanged?: Info } | null | undefined)?.itemInfoChanged
    if (info) s.received.push(info)
    if (r.errors?.length) s.errors.push(...(r.errors as Seen['errors']))
  },
  error: (e: unknown) => {
    s.errors.push(...(Array.isArray(e) ? e : [e as Seen['errors'][number]]))
    s.done = true
  },
  complete: () => {
    s.done = true
  },
})

type Transport = (authorization: string | null, query: string, variables: Record<string, unknown>) => Seen

const viaGraphqlWs: Transport = (authorization, query, variables) => {
  const s = seen()
  const client = createWsClient({
    url: url().replace('http', 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: authorization ? { authorization: `Bearer ${authorization}` } : {},
    retryAttempts: 0,
  })
  disposers.push(() => client.dispose())
  client.subscribe({ query, variables }, sink(s))
  return s
}

const viaGraphqlSse: Transport = (authorization, query, variables) => {
  const s = seen()
  const client = createSseClient({
    url: url(),
    headers: authorization ? { authorization: `Bearer ${authorization}` } : {},
    retryAttempts: 0,
  })
  disposers.push(() => client.dispose())
  client.subscribe({ query, variables }, sink(s))
  return s
}

function viaApollo(link: () => ApolloLink): Transport {
  return (authorization, query, variables) => {
    const s = seen()
    const client = new ApolloClient({ link: link(), cache: new InMemoryCache() })
    const subscription = client.subscribe({ query: apolloGql(query), variables, fetchPolicy: 'no-cache' }).subscribe({
      next: r => {
        const info = (r.data as { itemInfoChanged?: Info } | undefined)?.itemInfoChanged
        if (info) s.received.push(info)
        if (r.error) {
          const e = r.error as { errors?: Seen['errors']; message: string }
          s.errors.push(...(e.errors ?? [{ message: e.message }]))
        }
      },
      error: e => {
        const err = e as { errors?: Seen['errors']; message: string }
        s.errors.push(...(err.errors ?? [{ message: err.message }]))
        s.done = true
      },
      complete: () => {
        s.done = true
      },
    })
    disposers.push(
      () => subscription.unsubscribe(),
      () => client.stop(),
    )
    void authorization
    return s
  }
}

const apolloWs: Transport = (authorization, query, variables) =>
  viaApollo(
    () =>
      new GraphQLWsLink(
        createWsClient({
          url: url().replace('http', 'ws'),
          webSocketImpl: WebSocket,
          connectionParams: authorization ? { authorization: `Bearer ${authorization}` } : {},
          retryAttempts: 0,
        }),
      ),
  )(authorization, query, variables)

const apolloHttp: Transport = (authorization, query, variables) =>
  viaApollo(
    () => new HttpLink({ uri: url(), headers: authorization ? { authorization: `Bearer ${authorization}` } : {} }),
  )(authorization, query, variables)

const TRANSPORTS: [string, Transport][] = [
  ['graphql-ws createClient', viaGraphqlWs],
  ['graphql-sse createClient', viaGraphqlSse],
  ['Apollo Client GraphQLWsLink', apolloWs],
  ['Apollo Client HttpLink (multipart)', apolloHttp],
]

const api = (query: string, variables: Record<string, unknown> = {}, as?: string) =>
  gql(stack.url('router'), query, variables, as)
const register = async () =>
  (await api(`mutation { registerItem(input: { name: "Canoe", price: 900 }) { id } }`, {}, owner)).data!.registerItem
    .id as string

beforeAll(async () => {
  await stack.start('item', 'reservation', 'payment', 'projections', 'router')
  owner = await token('owner-1', 'Olivia', ['owner'])
  renter = await token('renter-1', 'YoungEun', ['renter'])
}, 120_000)
afterAll(async () => {
  for (const d of disposers.reverse()) await d()
  await stack.dispose()
})

describe.each(TRANSPORTS)('itemInfoChanged over %s', (_name, subscribe) => {
  it('sends the current state, then each change, with the private fields for the owner only', async () => {
    const id = await register()
    await eventually(
      async () => (await api(`query($id: ID!) { itemInfo(itemId: $id) { version } }`, { id })).data?.itemInfo,
    )
    const asOwner = subscribe(owner, QUERY, { id })
    const asPublic = subscribe(null, QUERY.replace(' customerName', ''), { id })
    await eventually(async () => asOwner.received.length > 0 && asPublic.received.length > 0)
    expect((await api(`mutation($id: ID!) { reserveItem(itemId: $id) { id } }`, { id }, renter)).errors).toBeUndefined()
    const confirmed = (s: Seen) => s.received.find(i => i.reservationStatus === 'CONFIRMED')
    await eventually(async () => confirmed(asOwner) && confirmed(asPublic))
    expect(asOwner.errors).toEqual([])
    expect(confirmed(asOwner)).toMatchObject({ itemId: id, customerName: 'YoungEun' })
    expect(confirmed(asPublic)).toMatchObject({ itemId: id, version: confirmed(asOwner)?.version })
    expect(asOwner.received.map(i => i.version)).toEqual(asOwner.received.map((_, n) => 1 + n))
  })

  it('refuses private fields to an anonymous subscriber, and an operation over the limits', async () => {
    const id = await register()
    const anonymous = subscribe(null, QUERY, { id })
    const aliases = Array.from({ length: 40 }, (_, n) => `a${n}: version`).join(' ')
    const bomb = subscribe(owner, `subscription($id: ID!) { itemInfoChanged(itemId: $id) { ${aliases} } }`, { id })
    await eventually(async () => anonymous.errors.length > 0 && bomb.errors.length > 0)
    expect(anonymous.errors[0]?.extensions?.code).toBe('UNAUTHENTICATED')
    expect(bomb.errors[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX')
  })
})

describe('HTTP subscription streams', () => {
  it('sends multipart heartbeats and caps connections per caller (429)', async () => {
    const open = await Promise.all(
      Array.from({ length: 9 }, () =>
        fetch(url(), {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'multipart/mixed;boundary=graphql;subscriptionSpec=1.0,application/json',
            authorization: `Bearer ${renter}`,
          },
          body: JSON.stringify({ query: 'subscription { itemInfoChanged { version } }' }),
        }),
      ),
    )
    const statuses = open.map(r => r.status).sort()
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 429])
    const stream = open.find(r => r.status === 200)!
    expect(stream.headers.get('content-type')).toMatch(/^multipart\/mixed;boundary="graphql";subscriptionSpec="1.0"/)
    const reader = stream.body!.getReader()
    let text = ''
    while (!text.includes('{}')) text += new TextDecoder().decode((await reader.read()).value)
    expect(text).toContain('content-type: application/json')
    await reader.cancel()
    for (const r of open) if (r !== stream) await r.body?.cancel()
  })
})
