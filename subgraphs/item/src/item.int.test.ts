// The item subgraph on its own: real PostgreSQL, real NATS, real HTTP; reservation events published by hand.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomUUID } from 'node:crypto'
import type { ReservationSnapshot } from '@gdmarket/contracts/reservation'
import { errorCode, eventually, gql, Stack } from '../../../test/harness.js'
import { routerHeaders, TestBus } from '../../../test/bus.js'

const owner = { userId: 'owner-1', name: 'Olivia', roles: ['owner' as const] }
const stranger = { userId: 'owner-2', name: 'Oscar', roles: ['owner' as const] }
const ITEM = 'id name price ownerId status rentalStatus'

const stack = new Stack({ item: { CONSUMER_MAX_ATTEMPTS: '3' } })
let bus: TestBus
const url = () => stack.url('item')
const asOwner = (query: string, variables = {}, who = owner) =>
  gql(url(), query, variables, undefined, routerHeaders(who))

async function register(name = 'Camera', price = 100): Promise<string> {
  const r = await asOwner(`mutation($i: RegisterItemInput!) { registerItem(input: $i) { id } }`, { i: { name, price } })
  return r.data!.registerItem.id
}

const anonymous = (query: string, variables = {}) => gql(url(), query, variables, undefined, routerHeaders(null))
const item = async (id: string) => (await anonymous(`query($id: ID!) { item(id: $id) { ${ITEM} } }`, { id })).data!.item

const reservation = (itemId: string, over: Partial<ReservationSnapshot> = {}): ReservationSnapshot => ({
  reservationId: randomUUID(),
  itemId,
  customerId: 'renter-1',
  customerName: 'Rita',
  status: 'PENDING',
  paymentStatus: 'NOT_PAID',
  rentalStatus: 'NOT_RENTING',
  ...over,
})

const request = (r: ReservationSnapshot) =>
  bus.publish('reservation', 'ReservationRequested', r.reservationId, 1, { reservation: r })

beforeAll(async () => {
  await stack.start('item')
  bus = await TestBus.open(stack)
})
afterAll(async () => {
  await bus?.close()
  await stack.dispose()
})

describe('item subgraph', () => {
  it('registers an item and publishes ItemRegistered through the outbox', async () => {
    const id = await register('Tent', 2500)
    expect(await item(id)).toMatchObject({
      name: 'Tent',
      price: 2500,
      ownerId: 'owner-1',
      status: 'RENTABLE',
      rentalStatus: 'NOT_RENTING',
    })
    const events = await eventually(
      () => bus.events(),
      es => es.some(e => e.type === 'ItemRegistered' && e.aggregateId === id),
    )
    const registered = events.find(e => e.aggregateId === id)!
    expect(registered).toMatchObject({
      version: 1,
      aggregateVersion: 1,
      data: { item: { itemId: id, name: 'Tent', price: 2500 } },
    })
  })

  it('refuses bad input, a missing role, a forged identity and a stranger, changing nothing', async () => {
    const bad = await asOwner(`mutation { registerItem(input: { name: "", price: 1 }) { id } }`)
    expect(errorCode(bad)).toBe('BAD_USER_INPUT')
    const renter = await asOwner(
      `mutation { registerItem(input: { name: "a", price: 1 }) { id } }`,
      {},
      { ...owner, roles: ['renter' as never] },
    )
    expect(errorCode(renter)).toBe('FORBIDDEN')
    expect(errorCode(await anonymous(`mutation { registerItem(input: { name: "a", price: 1 }) { id } }`))).toBe(
      'UNAUTHENTICATED',
    )
    const forged = await gql(
      url(),
      `mutation { registerItem(input: { name: "a", price: 1 }) { id } }`,
      {},
      undefined,
      routerHeaders(owner, 'not-the-internal-secret'),
    )
    expect(forged.status).toBe(403)
    expect(errorCode(forged)).toBe('FORBIDDEN')
    const before = (await anonymous(`{ items(first: 200) { id } }`)).data!.items.length
    const id = await register()
    expect(errorCode(await asOwner(`mutation($id: ID!) { deleteItem(id: $id) { id } }`, { id }, stranger))).toBe(
      'FORBIDDEN',
    )
    expect(errorCode(await asOwner(`mutation { deleteItem(id: "nope") { id } }`))).toBe('BAD_USER_INPUT')
    expect(errorCode(await asOwner(`mutation($id: ID!) { deleteItem(id: $id) { id } }`, { id: randomUUID() }))).toBe(
      'NOT_FOUND',
    )
    expect((await anonymous(`{ items(first: 200) { id } }`)).data!.items.length).toBe(before + 1)
  })

  it('of 50 concurrent reservations exactly one holds the item', async () => {
    const id = await register('Drone', 9000)
    const requests = Array.from({ length: 50 }, () => reservation(id))
    await Promise.all(requests.map(request))
    const decided = await eventually(
      () => bus.events(),
      es =>
        requests.every(r =>
          es.some(
            e =>
              (e.type === 'ItemHeld' || e.type === 'ItemHoldRejected') &&
              (e.data as { reservationId: string }).reservationId === r.reservationId,
          ),
        ),
    )
    const held = decided.filter(e => e.type === 'ItemHeld' && e.aggregateId === id)
    expect(held).toHaveLength(1)
    expect(await item(id)).toMatchObject({ status: 'NOT_RENTABLE' })
    // A held item cannot be deleted.
    expect(errorCode(await asOwner(`mutation($id: ID!) { deleteItem(id: $id) { id } }`, { id }))).toBe('CONFLICT')
  })

  it('lends and takes back only as the reservation decided, once, ignoring a redelivered or older event', async () => {
    const id = await register('Kayak', 3000)
    const r = reservation(id)
    const requested = await request(r)
    await eventually(
      () => item(id),
      i => i.status === 'NOT_RENTABLE',
    )
    const lend = () => asOwner(`mutation($r: ID!) { lendItem(reservationId: $r) { ${ITEM} } }`, { r: r.reservationId })
    const takeBack = () => asOwner(`mutation($id: ID!) { returnItem(itemId: $id) { ${ITEM} } }`, { id })
    // The arbiter, the reservation subgraph, is not running here: the item refuses and stays as it was.
    expect(errorCode(await lend())).toBe('SERVICE_UNAVAILABLE')
    expect(await item(id)).toMatchObject({ rentalStatus: 'NOT_RENTING', status: 'NOT_RENTABLE' })
    // The reservation decided the lend (as when lendItem stopped right after asking): the item follows.
    const lentSnapshot = { ...r, status: 'CONFIRMED' as const, paymentStatus: 'PAID' as const }
    await bus.publish('reservation', 'ReservationRentalChanged', r.reservationId, 4, {
      reservation: { ...lentSnapshot, rentalStatus: 'RENTING' },
    })
    // An older event (version 2) arriving late changes nothing.
    await bus.publish('reservation', 'ReservationConfirmed', r.reservationId, 2, {
      reservation: { ...r, status: 'CONFIRMED' },
      amount: 3000,
    })
    await eventually(
      () => item(id),
      i => i.rentalStatus === 'RENTING',
    )
    expect(errorCode(await lend())).toBe('CONFLICT') // already lent
    // Redelivering the original request changes nothing.
    await bus.republish('reservation', requested, randomUUID())
    expect(errorCode(await takeBack())).toBe('SERVICE_UNAVAILABLE')
    await bus.publish('reservation', 'ReservationRentalChanged', r.reservationId, 5, {
      reservation: { ...lentSnapshot, rentalStatus: 'RETURNED' },
    })
    await eventually(
      () => item(id),
      i => i.rentalStatus === 'RETURNED' && i.status === 'RENTABLE',
    )
    expect(errorCode(await takeBack())).toBe('CONFLICT')
    await new Promise(res => setTimeout(res, 300))
    expect(await item(id)).toMatchObject({ rentalStatus: 'RETURNED', status: 'RENTABLE' })
  })

  it('dead-letters an unreadable event and one that fails every attempt, and goes on', async () => {
    await bus.publishRaw('reservation.ReservationRequested', 'not an event')
    const dead = await eventually(
      () => bus.deadLetters(),
      ds => ds.length > 0,
    )
    expect(dead[0]).toMatchObject({
      subject: `${stack.stream.toLowerCase()}-deadletter.item`,
      originalSubject: `${stack.stream.toLowerCase()}.reservation.ReservationRequested`,
      data: 'not an event',
    })
    // An event whose handler fails on every attempt goes there after CONSUMER_MAX_ATTEMPTS.
    await bus.publish('reservation', 'ReservationRequested', randomUUID(), 1, { reservation: null })
    const failed = await eventually(
      () => bus.deadLetters(),
      ds => ds.length > 1,
    )
    expect(failed[1]).toMatchObject({
      subject: `${stack.stream.toLowerCase()}-deadletter.item`,
      error: expect.stringContaining('null'),
    })
    // The consumer carries on with the next event.
    const id = await register('Lamp', 10)
    await request(reservation(id))
    await eventually(
      () => item(id),
      i => i.status === 'NOT_RENTABLE',
    )
  })

  it('releases the hold when the reservation is cancelled, then the item can be deleted', async () => {
    const id = await register('Bike', 1500)
    const r = reservation(id)
    await request(r)
    await eventually(
      () => item(id),
      i => i.status === 'NOT_RENTABLE',
    )
    await bus.publish('reservation', 'ReservationCancelled', r.reservationId, 3, {
      reservation: { ...r, status: 'CANCELLED' },
      refunded: false,
    })
    await eventually(
      () => item(id),
      i => i.status === 'RENTABLE',
    )
    const deleted = await asOwner(`mutation($id: ID!) { deleteItem(id: $id) { id } }`, { id })
    expect(deleted.errors).toBeUndefined()
    expect(await item(id)).toBeNull()
    // A reservation for a deleted item is refused.
    const late = reservation(id)
    await request(late)
    const events = await eventually(
      () => bus.events(),
      es =>
        es.some(
          e =>
            e.type === 'ItemHoldRejected' && (e.data as { reservationId: string }).reservationId === late.reservationId,
        ),
    )
    expect(
      events.find(
        e =>
          (e.data as { reservationId?: string }).reservationId === late.reservationId && e.type === 'ItemHoldRejected',
      )!.data,
    ).toMatchObject({ reason: 'DELETED' })
  })
})
