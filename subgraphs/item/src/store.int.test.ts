// The item's one-statement hold on real PostgreSQL: the ItemHeld envelope the statement builds in
// SQL is the one the TypeScript path (snapshot + createEvent) builds for the same row, the relay is
// kicked with exactly the row stored, a batch of requests is one statement with each request's own
// cause, and a request that may not hold writes nothing at all.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomUUID } from 'node:crypto'
import { createEvent, type EventEnvelope } from '@gdmarket/platform/events'
import type { OutboxRow } from '@gdmarket/platform/outbox'
import { Stack } from '../../../test/harness.js'
import { prismaStatements } from '@gdmarket/platform/statements'
import {
  createItemDb,
  holdForRequests,
  itemOutbox,
  snapshot,
  type HoldRequest,
  type Item,
  type ItemDb,
} from './store.js'

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

const cause = () => ({ correlationId: randomUUID(), causationId: randomUUID() })
const request = (itemId: string, version = 1): HoldRequest => ({
  eventId: randomUUID(),
  cause: cause(),
  reservationId: randomUUID(),
  version,
  itemId,
  customerId: 'renter-1',
  customerName: 'Rita',
})
const hold = (...requests: HoldRequest[]) => transact.alone((d, events) => holdForRequests(d, 'item', requests, events))

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
/** The rows the relay was kicked with, their envelopes read back from the text it publishes. */
const kickedRows = () => kicked.flat().map(r => ({ ...r, envelope: JSON.parse(r.envelope as string) as EventEnvelope }))

/** What the transactional path emits for the same hold (events.emit: createEvent + snapshot). */
const expectedHeld = (held: Item, req: HoldRequest, stored: EventEnvelope) => ({
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
    cause: req.cause,
  }),
  id: stored.id,
  occurredAt: stored.occurredAt,
})

describe('holdForRequests', () => {
  it.each([
    ['with a location and an area', {}],
    ['without them', { lat: null, lng: null, area: null }],
    ['with an awkward name', { name: 'Tent "Ü" \\ 🏕️', price: 0 }],
  ])('writes the ItemHeld the TypeScript path writes, %s, and kicks the relay with it', async (_, over) => {
    const item = await newItem(over)
    const req = request(item.id)
    kicked.length = 0
    expect(await hold(req)).toEqual(new Set([req.eventId]))
    const held = (await db.item.findUnique({ where: { id: item.id } }))!
    expect(held).toMatchObject({ status: 'NOT_RENTABLE', holdReservationId: req.reservationId, version: 2 })
    const [row] = await outbox(item.id)
    expect(row.subject).toBe('gdmarket.item.ItemHeld')
    expect(row.envelope).toEqual(expectedHeld(held, req, row.envelope))
    // As it is published: the same JSON, whichever order jsonb keeps the keys in.
    expect(kickedRows()).toEqual([row])
  })

  it('holds several items in one statement, each ItemHeld with its own request and cause', async () => {
    const items = await Promise.all([newItem(), newItem({ name: 'Stove' }), newItem({ price: 7 })])
    const requests = items.map(i => request(i.id))
    kicked.length = 0
    expect(await hold(...requests)).toEqual(new Set(requests.map(r => r.eventId)))
    expect(kicked).toHaveLength(1)
    for (const [k, item] of items.entries()) {
      const held = (await db.item.findUnique({ where: { id: item.id } }))!
      const [row] = await outbox(item.id)
      expect(row.envelope).toEqual(expectedHeld(held, requests[k], row.envelope))
      expect(kickedRows()).toContainEqual(row)
    }
  })

  it('writes the same inside a transaction, and kicks the relay after its commit', async () => {
    const item = await newItem()
    const req = request(item.id)
    kicked.length = 0
    await transact(req.cause, async (tx, events) => {
      await holdForRequests(prismaStatements(tx), 'item', [req], events)
      expect(kicked).toEqual([])
    })
    const held = (await db.item.findUnique({ where: { id: item.id } }))!
    const [row] = await outbox(item.id)
    expect(row.envelope).toEqual(expectedHeld(held, req, row.envelope))
    expect(kickedRows()).toEqual([row])
  })

  it('writes nothing for an event applied before, an older version, or an item not rentable', async () => {
    const item = await newItem()
    const first = { ...request(item.id), version: 3 }
    expect(await hold(first)).toEqual(new Set([first.eventId]))
    const after = { item: await db.item.findUnique({ where: { id: item.id } }), outbox: await outbox(item.id) }
    await db.item.update({ where: { id: item.id }, data: { status: 'RENTABLE', holdReservationId: null } })
    kicked.length = 0
    // The same event again, and an older event of the reservation: the item is rentable, yet nothing.
    const older = { ...first, eventId: randomUUID(), version: 2 }
    expect(await hold(first)).toEqual(new Set())
    expect(await hold(older)).toEqual(new Set())
    await db.item.update({ where: { id: item.id }, data: { status: 'NOT_RENTABLE' } })
    const other = request(item.id)
    // Beside a request that wins its own item: only that one is held.
    const winner = request((await newItem()).id)
    expect(await hold(other, winner)).toEqual(new Set([winner.eventId]))
    expect(await outbox(item.id)).toEqual(after.outbox)
    expect(kicked.flat()).toHaveLength(1)
    // The refused requests are not recorded applied: the transactional path decides them.
    expect(await db.processedEvent.count({ where: { eventId: { in: [other.eventId, older.eventId] } } })).toBe(0)
    expect(after.item?.version).toBe(2)
  })

  it('of racing requests for one item, holds for exactly one', async () => {
    const item = await newItem()
    const results = await Promise.all(Array.from({ length: 8 }, () => hold(request(item.id))))
    expect(results.filter(r => r.size === 1)).toHaveLength(1)
    expect(await outbox(item.id)).toHaveLength(1)
  })
})
