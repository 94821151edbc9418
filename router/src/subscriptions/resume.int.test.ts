// Cursors, replay after a cursor, the current state, the owner filter and private fields, through
// the real router with the real graphql-ws client. A subscriber that joined before everything is
// the ground truth: whatever another subscriber starts from, it must get exactly that truth's
// changes after its start, in the same order, none twice.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import WebSocket from 'ws'
import { connect, type NatsConnection } from 'nats'
import { createClient, type Client } from 'graphql-ws'
import { itemInfoFeedStream } from '@gdmarket/contracts/item-info'
import { eventually, gql, sleep, Stack, token } from '../../../test/harness.js'

interface Info {
  itemId: string
  ownerId: string
  version: number
  cursor: string
  itemName: string
  reservationStatus: string | null
  customerName: string | null
}
const SELECTION = 'itemId ownerId version cursor itemName reservationStatus'
const PRIVATE_SELECTION = `${SELECTION} customerName`

const stack = new Stack()
const clients: Client[] = []
let owner: string
let owner2: string
let renter: string
let stranger: string
let nc: NatsConnection
const api = (query: string, variables: Record<string, unknown> = {}, as?: string) =>
  gql(stack.url('router'), query, variables, as)

function client(authorization?: string): Client {
  const c = createClient({
    url: stack.url('router').replace('http', 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: authorization ? { authorization } : {},
    retryAttempts: 0,
  })
  clients.push(c)
  return c
}

interface Watch {
  received: Info[]
  errors: { message: string; extensions?: { code?: string } }[]
  done: boolean
}

function watch(c: Client, args: string, variables: Record<string, unknown> = {}, selection = SELECTION): Watch {
  const w: Watch = { received: [], errors: [], done: false }
  const defs = Object.keys(variables).length
    ? `(${Object.entries(variables)
        .map(([k, v]) => `$${k}: ${typeof v === 'boolean' ? 'Boolean' : k === 'after' ? 'String' : 'ID'}`)
        .join(', ')})`
    : ''
  c.subscribe<{ itemInfoChanged: Info }>(
    { query: `subscription${defs} { itemInfoChanged${args} { ${selection} } }`, variables },
    {
      next: r => (r.data ? w.received.push(r.data.itemInfoChanged) : w.errors.push(...((r.errors ?? []) as never[]))),
      error: e => {
        w.errors.push(...(Array.isArray(e) ? e : [{ message: String(e) }]))
        w.done = true
      },
      complete: () => (w.done = true),
    },
  )
  return w
}

const register = async (name: string, as = owner) =>
  (await api(`mutation($n: String!) { registerItem(input: { name: $n, price: 700 }) { id } }`, { n: name }, as)).data!
    .registerItem.id as string
const infoOf = async (id: string, as?: string) =>
  (await api(`query($id: ID!) { itemInfo(itemId: $id) { ${SELECTION} customerName } }`, { id }, as)).data!
    .itemInfo as Info | null
const key = (i: Info) => `${i.itemId}@${i.version}`

let truth: Watch

beforeAll(async () => {
  await stack.start('item', 'reservation', 'payment', 'projections', 'router')
  owner = await token('owner-1', 'Olivia', ['owner'])
  owner2 = await token('owner-2', 'Oscar', ['owner'])
  renter = await token('renter-1', 'YoungEun', ['renter'])
  stranger = await token('renter-2', 'Minho', ['renter'])
  nc = await connect({ servers: stack.natsUrl })
  truth = watch(client(owner), '')
  // The truth must see everything from here on: wait until it hears a change (a busy machine may
  // take a while to register the subscription).
  await eventually(async () => {
    await register('Probe')
    await sleep(500)
    return truth.received.length > 0
  })
}, 120_000)
afterAll(async () => {
  await Promise.all(clients.map(c => c.dispose()))
  await nc?.close()
  await stack.dispose()
})

describe('ItemInfo.cursor and itemInfoChanged(after)', () => {
  it('gives every state a cursor, the same in queries and events, larger for later changes', async () => {
    const id = await register('Kayak')
    await eventually(async () => truth.received.find(i => i.itemId === id))
    const queried = await eventually(
      () => infoOf(id),
      i => i?.cursor === truth.received.find(t => t.itemId === id)?.cursor,
    )
    expect(queried).toMatchObject({ itemId: id, version: 1 })
    const cursors = truth.received.map(i => BigInt(i.cursor))
    expect(cursors.every((c, n) => n === 0 || c > cursors[n - 1])).toBe(true)
  })

  it('replays every change after a cursor, then live ones, with none twice and none skipped, while changes race the switch', async () => {
    const a = await register('Tent')
    const start = await eventually(
      () => infoOf(a),
      i => i !== null && BigInt(i.cursor) > 0n,
    )
    // Changes made before subscribing, then during the subscription's start, then after it.
    const before = await Promise.all([register('Stove'), register('Lamp'), register('Other', owner2)])
    await eventually(async () => before.every(id => truth.received.some(i => i.itemId === id)))
    const racing = Promise.all(Array.from({ length: 8 }, (_, n) => register(`Racer ${n}`)))
    const resumed = watch(client(owner), '(after: $after)', { after: start!.cursor })
    const owned = watch(client(owner), '(ownerId: $ownerId, after: $after)', {
      ownerId: 'owner-1',
      after: start!.cursor,
    })
    const racers = await racing
    const after = await register('After')
    // Items are aggregates of their own, so the feed may order a racer after 'After': wait until
    // the truth has every one, then until both subscribers under test have the truth's last change.
    const all = [...before, ...racers, after]
    await eventually(async () => all.every(id => truth.received.some(i => i.itemId === id)))
    const last = key(truth.received.at(-1)!)
    const lastMine = key(truth.received.filter(i => i.ownerId === 'owner-1').at(-1)!)
    await eventually(
      async () => resumed.received.some(i => key(i) === last) && owned.received.some(i => key(i) === lastMine),
    )

    const expected = truth.received.filter(i => BigInt(i.cursor) > BigInt(start!.cursor))
    expect(resumed.errors).toEqual([])
    expect(resumed.received.slice(0, expected.length).map(key)).toEqual(expected.map(key))
    expect(new Set(resumed.received.map(key)).size).toBe(resumed.received.length)
    expect(expected.map(i => i.itemId)).toEqual(expect.arrayContaining(all))
    // The owner filter: the same sequence without owner-2's item, items registered later included.
    const mine = expected.filter(i => i.ownerId === 'owner-1')
    expect(owned.received.slice(0, mine.length).map(key)).toEqual(mine.map(key))
    expect(owned.received.some(i => i.ownerId !== 'owner-1')).toBe(false)
  })

  it('refuses a malformed cursor, a cursor from no feed, and current without a filter with BAD_USER_INPUT', async () => {
    const bad = watch(client(), '(after: "abc")')
    const ahead = watch(client(), '(after: "999999999")')
    const everything = watch(client(), '(current: true)')
    await eventually(async () => bad.done && ahead.done && everything.done)
    for (const w of [bad, ahead, everything]) expect(w.errors[0]?.extensions?.code).toBe('BAD_USER_INPUT')
  })
})

describe('itemInfoChanged(current: true)', () => {
  it("sends an owner's items as they are now, then every later change, with no gap and no repeat", async () => {
    const ids = await Promise.all([register('Drill', owner2), register('Saw', owner2)])
    await eventually(async () => ids.every(id => truth.received.some(i => i.itemId === id)))
    const racing = Promise.all([register('Ladder', owner2), register('Rope', owner2)])
    const board = watch(client(owner2), '(ownerId: $ownerId, current: $current)', { ownerId: 'owner-2', current: true })
    const later = await racing
    const reserved = await api(`mutation($id: ID!) { reserveItem(itemId: $id) { id } }`, { id: ids[0] }, renter)
    expect(reserved.errors).toBeUndefined()
    // Each item is an aggregate of its own: the feed may order the confirmation before a racer's registration.
    await eventually(
      async () =>
        board.received.some(i => i.itemId === ids[0] && i.reservationStatus === 'CONFIRMED') &&
        later.every(id => board.received.some(i => i.itemId === id)),
    )
    expect(board.errors).toEqual([])
    expect(board.received.every(i => i.ownerId === 'owner-2')).toBe(true)
    expect(new Set(board.received.map(key)).size).toBe(board.received.length)
    for (const id of [...ids, ...later]) {
      // Per item: versions rise by one from the first state sent (nothing in between is skipped).
      const versions = board.received.filter(i => i.itemId === id).map(i => i.version)
      expect(versions.length).toBeGreaterThan(0)
      expect(versions).toEqual(versions.map((_, n) => versions[0] + n))
      const now = await infoOf(id, owner2)
      expect(versions.at(-1)).toBe(now?.version)
    }
  })
})

describe('private fields of ItemInfo', () => {
  it('shows the reservation to the owner and the customer only, in queries and subscriptions', async () => {
    const id = await register('Camera')
    await eventually(async () => truth.received.some(i => i.itemId === id))
    // current: true, so no subscriber can miss the reservation however late it registers.
    const args = '(itemId: $id, current: $current)'
    const vars = { id, current: true }
    const asOwner = watch(client(owner), args, vars, PRIVATE_SELECTION)
    const asCustomer = watch(client(renter), args, vars, PRIVATE_SELECTION)
    const asStranger = watch(client(stranger), args, vars, PRIVATE_SELECTION)
    const anonymousPublic = watch(client(), args, vars)
    const anonymousPrivate = watch(client(), args, vars, PRIVATE_SELECTION)
    await eventually(async () => [asOwner, asCustomer, asStranger, anonymousPublic].every(w => w.received.length > 0))
    await api(`mutation($id: ID!) { reserveItem(itemId: $id) { id } }`, { id }, renter)
    const confirmed = (w: Watch) => w.received.some(i => i.reservationStatus === 'CONFIRMED')
    await eventually(async () => [asOwner, asCustomer, asStranger, anonymousPublic].every(confirmed))

    const last = (w: Watch) => w.received.find(i => i.reservationStatus === 'CONFIRMED')
    expect(last(asOwner)?.customerName).toBe('YoungEun')
    expect(last(asCustomer)?.customerName).toBe('YoungEun')
    expect(last(asStranger)?.customerName).toBeNull()
    expect(last(asStranger)).toMatchObject({ reservationStatus: 'CONFIRMED', version: last(asOwner)?.version })
    await eventually(async () => anonymousPrivate.done)
    expect(anonymousPrivate.errors[0]?.extensions?.code).toBe('UNAUTHENTICATED')

    expect((await infoOf(id, owner))?.customerName).toBe('YoungEun')
    expect((await infoOf(id, renter))?.customerName).toBe('YoungEun')
    expect((await infoOf(id, stranger))?.customerName).toBeNull()
    expect((await infoOf(id))?.customerName).toBeNull()
  })
})

describe('a cursor the feed no longer keeps', () => {
  it('ends the subscription with CURSOR_EXPIRED', async () => {
    const oldest = truth.received[0].cursor
    // The feed dropping its old changes, as ITEMINFO_FEED_MAX_AGE_MS does (this test's own stream).
    const jsm = await nc.jetstreamManager()
    await jsm.streams.purge(itemInfoFeedStream(stack.stream), { keep: 1 })
    const expired = watch(client(), '(after: $after)', { after: oldest })
    await eventually(async () => expired.done)
    expect(expired.errors[0]?.extensions?.code).toBe('CURSOR_EXPIRED')
  })
})
