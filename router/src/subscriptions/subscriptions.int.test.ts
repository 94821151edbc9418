// itemInfoChanged through the real router (every process real), with the real graphql-ws client
// as a user would run it; a raw `ws` client plays the subscriber that stops reading.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { connect, type NatsConnection } from 'nats'
import WebSocket from 'ws'
import { createClient, type Client } from 'graphql-ws'
import { eventually, gql, sleep, Stack, token } from '../../../test/harness.js'
import { itemInfoChangedSubject } from '@gdmarket/contracts/item-info'

interface Info {
  itemId: string
  version: number
  itemName: string
  reservationStatus: string | null
  itemStatus: string
  item: { name: string; price: number; createdAt: string } | null
}
const SELECTION = 'itemId version itemName itemStatus reservationStatus item { name price createdAt }'
const BUFFER = 16

const stack = new Stack({ router: { SUBSCRIPTION_BUFFER_SIZE: String(BUFFER) } })
const clients: Client[] = []
let owner: string
let renter: string
let nc: NatsConnection
const wsUrl = () => stack.url('router').replace('http', 'ws')
const api = (query: string, variables: Record<string, unknown> = {}, as?: string) =>
  gql(stack.url('router'), query, variables, as)

function client(connectionParams: Record<string, unknown> = {}, closed?: (code: number) => void): Client {
  const c = createClient({
    url: wsUrl(),
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
    lazy: false,
    on: { closed: e => closed?.((e as { code: number }).code) },
  })
  clients.push(c)
  return c
}

/** Subscribes and collects every ItemInfo pushed; waits a moment so the router has registered it. */
async function watch(c: Client, itemId: string | null, selection = SELECTION) {
  const received: Info[] = []
  const errors: unknown[] = []
  c.subscribe<{ itemInfoChanged: Info }>(
    { query: `subscription($id: ID) { itemInfoChanged(itemId: $id) { ${selection} } }`, variables: { id: itemId } },
    {
      next: r => (r.data ? received.push(r.data.itemInfoChanged) : errors.push(r.errors)),
      error: e => errors.push(e),
      complete: () => undefined,
    },
  )
  await sleep(300)
  return { received, errors }
}

const register = async (name: string) =>
  (await api(`mutation($n: String!) { registerItem(input: { name: $n, price: 700 }) { id } }`, { n: name }, owner))
    .data!.registerItem.id as string
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024

beforeAll(async () => {
  await stack.start('item', 'reservation', 'payment', 'projections', 'router')
  owner = await token('owner-1', 'Olivia', ['owner'])
  renter = await token('renter-1', 'YoungEun', ['renter'])
  nc = await connect({ servers: stack.natsUrl })
}, 120_000)
afterAll(async () => {
  await Promise.all(clients.map(c => c.dispose()))
  await nc?.close()
  await stack.dispose()
})

describe('itemInfoChanged through the router', () => {
  it('pushes every change of an item in order, to each subscriber the same, with item resolved (name and price from the read model, createdAt by the item subgraph)', async () => {
    const everything = await watch(client(), null)
    const id = await register('Kayak')
    await eventually(async () => everything.received.find(i => i.itemId === id))
    expect(everything.received.find(i => i.itemId === id)).toEqual({
      itemId: id,
      version: 1,
      itemName: 'Kayak',
      itemStatus: 'RENTABLE',
      reservationStatus: null,
      item: { name: 'Kayak', price: 700, createdAt: expect.any(String) },
    })

    const [first, second] = await Promise.all([watch(client({ authorization: renter }), id), watch(client(), id)])
    const reserved = await api(`mutation($id: ID!) { reserveItem(itemId: $id) { id } }`, { id }, renter)
    expect(reserved.errors).toBeUndefined()
    await eventually(
      async () =>
        first.received.at(-1)?.reservationStatus === 'CONFIRMED' && second.received.length === first.received.length,
    )

    expect(first.errors).toEqual([])
    expect(second.received).toEqual(first.received)
    expect(first.received.map(i => i.version)).toEqual(first.received.map((_, n) => n + 2))
    expect(first.received.every(i => i.itemId === id && i.item?.name === 'Kayak')).toBe(true)
    expect(first.received.at(-1)).toMatchObject({ itemStatus: 'NOT_RENTABLE', reservationStatus: 'CONFIRMED' })
    // The last push is the state a query shows.
    const queried = (await api(`query($id: ID!) { itemInfo(itemId: $id) { ${SELECTION} } }`, { id })).data!.itemInfo
    expect(queried).toEqual(first.received.at(-1))
    // itemId null saw the same versions of this item.
    expect(everything.received.filter(i => i.itemId === id)).toEqual([
      expect.objectContaining({ version: 1 }),
      ...first.received,
    ])
  })

  it('filters by itemId', async () => {
    const one = await register('Tent')
    const watcher = await watch(client(), one)
    const other = await register('Stove')
    await api(`mutation($id: ID!) { deleteItem(id: $id) { id } }`, { id: one }, owner)
    await eventually(async () => watcher.received.some(i => i.item === null))
    // v1 may land after the subscription (the projection is asynchronous); v2 is the deletion.
    expect(watcher.received.every(i => i.itemId === one)).toBe(true)
    expect(watcher.received.at(-1)).toMatchObject({ version: 2, item: null })
    expect(watcher.received.some(i => i.itemId === other)).toBe(false)
  })

  it('closes a connection with an invalid token with 4403, and enforces identity for mutations over the socket', async () => {
    let code: number | undefined
    const bad = client({ authorization: 'Bearer not-a-token' }, c => (code = c))
    bad.subscribe(
      { query: 'subscription { itemInfoChanged { version } }' },
      { next: () => undefined, error: () => undefined, complete: () => undefined },
    )
    await eventually(async () => code)
    expect(code).toBe(4403)

    const mutation = { query: 'mutation { registerItem(input: { name: "Lamp", price: 1 }) { name ownerId } }' }
    const asOwner = await new Promise(resolve =>
      client({ authorization: owner }).subscribe(mutation, {
        next: resolve,
        error: resolve,
        complete: () => undefined,
      }),
    )
    expect(asOwner).toEqual({ data: { registerItem: { name: 'Lamp', ownerId: 'owner-1' } } })
    const anonymous = await new Promise<{ errors?: readonly { extensions?: { code?: string } }[] }>(resolve =>
      client().subscribe(mutation, { next: resolve, error: resolve, complete: () => undefined }),
    )
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED')
  })

  it('cuts off a subscriber that stops reading, without the router growing, while others get every event', async () => {
    const itemId = '00000000-0000-4000-8000-00000000051c'
    const big = 'x'.repeat(16 * 1024)
    const healthy = await watch(client(), itemId, 'version')
    const slow = new WebSocket(wsUrl(), 'graphql-transport-ws')
    const slowClosed = new Promise<number>(resolve => slow.on('close', c => resolve(c)))
    await new Promise(r => slow.once('open', r))
    slow.send(JSON.stringify({ type: 'connection_init' }))
    await new Promise(r => slow.once('message', r))
    slow.send(
      JSON.stringify({
        id: '1',
        type: 'subscribe',
        payload: { query: `subscription { itemInfoChanged(itemId: "${itemId}") { version itemName } }` },
      }),
    )
    await sleep(300)
    slow.pause() // stops reading: the kernel buffers fill, then the router's buffer for it

    const pid = stack.running.get('router')!.child.pid!
    const before = rssOf(pid)
    const events = 3000
    for (let v = 1; v <= events; v++) {
      const payload = {
        itemId,
        version: v,
        itemName: big,
        itemPrice: 1,
        ownerId: 'o',
        itemStatus: 'RENTABLE',
        rentalStatus: 'NOT_RENTING',
        deleted: false,
        item: null,
        updatedAt: new Date().toISOString(),
      }
      nc.publish(itemInfoChangedSubject(stack.stream, itemId), JSON.stringify(payload))
      if (v % 100 === 0) await nc.flush()
    }
    await eventually(async () => healthy.received.length === events, Boolean, { timeoutMs: 30_000 })
    expect(healthy.received.map(i => i.version)).toEqual(Array.from({ length: events }, (_, n) => n + 1))
    // 3,000 × 16 KiB held for the slow one would be ~50 MB; bounded, it is at most BUFFER events.
    expect(rssOf(pid) - before).toBeLessThan(40 * 1024 * 1024)
    slow.resume()
    expect([1013, 1006]).toContain(await slowClosed)
  }, 60_000)

  it('on SIGTERM closes sockets with 1001 and exits 0', async () => {
    let code: number | undefined
    await watch(
      client({}, c => (code = c)),
      null,
    )
    expect(await stack.stop('router', 'SIGTERM')).toBe(0)
    expect(code).toBe(1001)
  })
})
