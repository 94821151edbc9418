// Temporal decoupling and outages: reservations are taken while the item subgraph is down, and
// nothing is lost or applied twice when NATS goes away in the middle of the traffic.
import { afterAll, describe, expect, it } from '@jest/globals'
import { connect } from 'nats'
import { createClient } from 'graphql-ws'
import WebSocket from 'ws'
import type { EventEnvelope } from '@gdmarket/platform/events'
import { eventually, gql, Stack, token } from '../harness.js'
import { OwnNatsServer } from '../nats-server.js'

const stacks: Stack[] = []
let nats: OwnNatsServer | undefined
afterAll(async () => {
  await Promise.all(stacks.map(s => s.dispose()))
  await nats?.dispose()
})

async function startStack(natsUrl?: string): Promise<Stack> {
  const stack = new Stack()
  if (natsUrl) stack.natsUrl = natsUrl
  stacks.push(stack)
  await stack.start('item', 'reservation', 'payment', 'projections')
  await stack.start('router')
  return stack
}

const statusOf = async (stack: Stack, id: string, as: string) =>
  (await gql(stack.url('router'), `query($id: ID!) { reservation(id: $id) { status } }`, { id }, as)).data?.reservation
    ?.status as string | undefined

describe('temporal decoupling', () => {
  it('takes reservations while the item subgraph is down and decides them once it is back', async () => {
    const stack = await startStack()
    const owner = await token('owner-td', 'Olivia', ['owner'])
    const renter = await token('renter-td', 'Rita', ['renter'])
    const api = (q: string, v: Record<string, unknown>, t: string) => gql(stack.url('router'), q, v, t)
    const ids: string[] = []
    for (const name of ['Camera', 'Tent', 'Drone'])
      ids.push(
        (
          await api(
            `mutation($n: String!) { registerItem(input: { name: $n, price: 100 }) { id } }`,
            { n: name },
            owner,
          )
        ).data!.registerItem.id,
      )

    expect(await stack.stop('item')).toBe(0)
    const reserved = await Promise.all(
      ids.map(id => api(`mutation($id: ID!) { reserveItem(itemId: $id) { id status } }`, { id }, renter)),
    )
    expect(reserved.map(r => r.data?.reserveItem.status)).toEqual(['PENDING', 'PENDING', 'PENDING'])
    await new Promise(r => setTimeout(r, 500))
    for (const r of reserved) expect(await statusOf(stack, r.data!.reserveItem.id, renter)).toBe('PENDING')

    await stack.restart('item')
    for (const r of reserved)
      expect(
        await eventually(
          () => statusOf(stack, r.data!.reserveItem.id, renter),
          s => s === 'CONFIRMED',
        ),
      ).toBe('CONFIRMED')
  })
})

describe('a NATS outage in the middle of the traffic', () => {
  it('delivers every event exactly once after NATS returns', async () => {
    nats = await OwnNatsServer.start()
    const stack = await startStack(nats.url)
    const owner = await token('owner-nats', 'Olivia', ['owner'])
    const renter = await token('renter-nats', 'Rita', ['renter'])
    const api = (q: string, v: Record<string, unknown>, t: string) => gql(stack.url('router'), q, v, t)
    const register = (n: string) =>
      api(`mutation($n: String!) { registerItem(input: { name: $n, price: 10 }) { id } }`, { n }, owner)

    // A live subscriber through the router, across the outage.
    const seen = new Map<string, number[]>()
    const ws = createClient({
      url: stack.url('router').replace('http', 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    })
    const unsubscribe = ws.subscribe<{ itemInfoChanged: { itemId: string; version: number } }>(
      { query: 'subscription { itemInfoChanged { itemId version } }' },
      {
        next: ({ data }) =>
          data &&
          seen.set(data.itemInfoChanged.itemId, [
            ...(seen.get(data.itemInfoChanged.itemId) ?? []),
            data.itemInfoChanged.version,
          ]),
        error: () => {},
        complete: () => {},
      },
    )
    await new Promise(r => setTimeout(r, 300))
    const before = (await register('before')).data!.registerItem.id as string
    await eventually(
      async () => seen.get(before),
      v => v?.[0] === 1,
    )
    await nats.stop()
    // Writes keep working: state and outbox rows commit, the relay waits.
    const during: string[] = []
    for (let i = 0; i < 5; i++) during.push((await register(`during ${i}`)).data!.registerItem.id)
    const reservations = await Promise.all(
      [before, ...during].map(id =>
        api(`mutation($id: ID!) { reserveItem(itemId: $id) { id status } }`, { id }, renter),
      ),
    )
    expect(reservations.every(r => r.data?.reserveItem.status === 'PENDING')).toBe(true)
    await nats.resume()

    for (const r of reservations) {
      expect(
        await eventually(
          () => statusOf(stack, r.data!.reserveItem.id, renter),
          s => s === 'CONFIRMED',
          { timeoutMs: 30_000, intervalMs: 200 },
        ),
      ).toBe('CONFIRMED')
    }
    const infos = await eventually(
      async () =>
        (await gql(stack.url('router'), `{ itemInfos(ownerId: "owner-nats") { itemId reservationStatus version } }`))
          .data?.itemInfos as { reservationStatus: string; version: number }[],
      list => list?.length === 6 && list.every(i => i.reservationStatus === 'CONFIRMED'),
      { timeoutMs: 30_000 },
    )
    // Every ItemInfo went through the same changes as one made with NATS up: none applied twice.
    const control = (await register('control')).data!.registerItem.id as string
    await api(`mutation($id: ID!) { reserveItem(itemId: $id) { id } }`, { id: control }, renter)
    const controlInfo = await eventually(
      async () =>
        (
          await gql(stack.url('router'), `query($id: ID!) { itemInfo(itemId: $id) { reservationStatus version } }`, {
            id: control,
          })
        ).data?.itemInfo,
      i => i?.reservationStatus === 'CONFIRMED',
    )
    await new Promise(r => setTimeout(r, 300))
    expect(infos.map(i => i.version)).toEqual(infos.map(() => controlInfo.version))

    // The subscriber got every change of every item, once, in order: no gap from the outage.
    await eventually(
      async () => [...seen.values()].flat().length,
      n => n >= infos.length * controlInfo.version,
    )
    unsubscribe()
    await ws.dispose()
    for (const [itemId, versions] of seen) {
      if (itemId === control) continue
      expect(versions).toEqual(Array.from({ length: controlInfo.version }, (_, i) => i + 1))
    }

    const nc = await connect({ servers: nats.url })
    const jsm = await nc.jetstreamManager()
    const { state } = await jsm.streams.info(stack.stream)
    const events: EventEnvelope[] = []
    for (let seq = state.first_seq; seq <= state.last_seq; seq++)
      events.push((await jsm.streams.getMessage(stack.stream, { seq })).json())
    await nc.close()
    const ids = events.map(e => e.id)
    expect(new Set(ids).size).toBe(ids.length)
    const count = (type: string) => events.filter(e => e.type === type).length
    expect([
      count('ItemRegistered'),
      count('ReservationRequested'),
      count('ItemHeld'),
      count('ReservationConfirmed'),
    ]).toEqual([7, 7, 7, 7])
  })
})
