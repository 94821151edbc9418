// The item's one-statement hold on real PostgreSQL: the ItemHeld envelope the statement builds in
// SQL is the one the TypeScript path (snapshot + createEvent) builds for the same row, the relay is
// kicked with exactly the row stored, and a request that may not hold writes nothing at all.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomUUID } from 'node:crypto'
import { createEvent, type EventEnvelope } from '@gdmarket/platform/events'
import type { OutboxRow } from '@gdmarket/platform/outbox'
import { Stack } from '../../../test/harness.js'
import { createItemDb, holdForRequest, itemOutbox, snapshot, type Item, type ItemDb } from './store.js'

const stack = new Stack()
let db: ItemDb
const kicked: OutboxRow[][] = []
let transact: ReturnType<typeof itemOutbox>['transact']

beforeAll(async () => {
  db = createItemDb(await stack.migratedDatabase('item'), 4)
  transact = itemOutbox(db, 'GDMARKET', rows => kicked.push(rows ?? [])).transact
}, 60_000)
afterAll(async () => {
  await db?.$disconnect()
  await stack.dispose()
})

const applied = () => ({ consumer: 'item', eventId: randomUUID() })
const cause = { correlationId: randomUUID(), causationId: randomUUID() }
const request = (itemId: string, version = 1) => ({
  reservationId: randomUUID(),
  version,
  itemId,
  customerId: 'renter-1',
  customerName: 'Rita',
})

const newItem = (over: Partial<Item> = {}) =>
  db.item.create({
    data: {
      id: randomUUID(),
      name: 'Tent',
      price: 2500,
      ownerId: 'owner-1',
      lat: 37.5,
      lng: 127.03,
      area: 'Seongsu',
      ...over,
    },
  })
const outbox = async (aggregateId: string) =>
  (await db.outboxEvent.findMany({ orderBy: { seq: 'asc' } }))
    .map(r => ({ id: r.id, subject: r.subject, envelope: r.envelope as unknown as EventEnvelope }))
    .filter(r => r.envelope.aggregateId === aggregateId)

/** What the transactional path emits for the same hold (events.emit: createEvent + snapshot). */
const expectedHeld = (held: Item, req: ReturnType<typeof request>, stored: EventEnvelope) => ({
  ...createEvent({
    type: 'ItemHeld',
    aggregateId: held.id,
    aggregateVersion: held.version,
    data: {
      item: snapshot(held),
      reservationId: req.reservationId,
      customerId: req.customerId,
      customerName: req.customerName,
    },
    cause,
  }),
  id: stored.id,
  occurredAt: stored.occurredAt,
})

describe('holdForRequest', () => {
  it.each([
    ['with a location and an area', {}],
    ['without them', { lat: null, lng: null, area: null }],
    ['with an awkward name', { name: 'Tent "Ü" \\ 🏕️', price: 0 }],
  ])('writes the ItemHeld the TypeScript path writes, %s, and kicks the relay with it', async (_, over) => {
    const item = await newItem(over)
    const req = request(item.id)
    kicked.length = 0
    const held = await transact.alone(cause, (d, events) => holdForRequest(d, applied(), req, events))
    expect(held).toEqual(await db.item.findUnique({ where: { id: item.id } }))
    expect(held).toMatchObject({ status: 'NOT_RENTABLE', holdReservationId: req.reservationId, version: 2 })
    const [row] = await outbox(item.id)
    expect(row.subject).toBe('gdmarket.item.ItemHeld')
    expect(row.envelope).toEqual(expectedHeld(held!, req, row.envelope))
    expect(kicked).toEqual([[row]])
    // As it is published: the same JSON, whichever order jsonb keeps the keys in.
    expect(JSON.parse(JSON.stringify(kicked[0][0].envelope))).toEqual(row.envelope)
  })

  it('writes the same inside a transaction, and kicks the relay after its commit', async () => {
    const item = await newItem()
    const req = request(item.id)
    kicked.length = 0
    const held = await transact(cause, async (tx, events) => {
      const h = await holdForRequest(tx, applied(), req, events)
      expect(kicked).toEqual([])
      return h
    })
    const [row] = await outbox(item.id)
    expect(row.envelope).toEqual(expectedHeld(held!, req, row.envelope))
    expect(kicked).toEqual([[row]])
  })

  it('writes nothing for an event applied before, an older version, or an item not rentable', async () => {
    const item = await newItem()
    const first = applied()
    const req = { ...request(item.id), version: 3 }
    expect(await transact.alone(cause, (d, e) => holdForRequest(d, first, req, e))).not.toBeNull()
    const after = { item: await db.item.findUnique({ where: { id: item.id } }), outbox: await outbox(item.id) }
    await db.item.update({ where: { id: item.id }, data: { status: 'RENTABLE', holdReservationId: null } })
    kicked.length = 0
    // The same event again, and an older event of the reservation: the item is rentable, yet nothing.
    expect(await transact.alone(cause, (d, e) => holdForRequest(d, first, req, e))).toBeNull()
    expect(await transact.alone(cause, (d, e) => holdForRequest(d, applied(), { ...req, version: 2 }, e))).toBeNull()
    await db.item.update({ where: { id: item.id }, data: { status: 'NOT_RENTABLE' } })
    const other = applied()
    expect(await transact.alone(cause, (d, e) => holdForRequest(d, other, request(item.id), e))).toBeNull()
    expect(await outbox(item.id)).toEqual(after.outbox)
    expect(kicked).toEqual([])
    // The refused request is not recorded applied: the transactional path decides it.
    expect(await db.processedEvent.count({ where: { eventId: other.eventId } })).toBe(0)
    expect(after.item?.version).toBe(2)
  })

  it('of racing requests for one item, holds for exactly one', async () => {
    const item = await newItem()
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        transact.alone(cause, (d, e) => holdForRequest(d, applied(), request(item.id), e)),
      ),
    )
    expect(results.filter(r => r !== null)).toHaveLength(1)
    expect(await outbox(item.id)).toHaveLength(1)
  })
})
