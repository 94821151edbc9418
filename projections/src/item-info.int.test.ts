// applyEvents on real PostgreSQL with the rows kept in memory (RecentRows): an item's next event is
// one statement (no read), and memory that went stale (another instance wrote the row, or the event
// was applied before) costs a second try from the database, never a wrong row or an error.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomUUID } from 'node:crypto'
import { createEvent, type EventEnvelope } from '@gdmarket/platform/events'
import type { Statements } from '@gdmarket/platform/statements'
import type { ItemSnapshot } from '@gdmarket/contracts/item'
import { Stack } from '../../test/harness.js'
import { applyEvents, RecentRows, type ProjectionDeps } from './item-info.js'
import { createProjectionsDb, type ProjectionsDb } from './store.js'

const stack = new Stack()
let db: ProjectionsDb
let direct: Statements

beforeAll(async () => {
  db = createProjectionsDb(await stack.migratedDatabase('projections'), 4)
  direct = db.statements
}, 60_000)
afterAll(async () => {
  await db?.$disconnect()
  await stack.dispose()
})

/** Where the events stand in the stream, whichever instance applies them. */
let streamSeq = 0

/** A process applying events: its own memory, and a count of the statements it ran. */
function instance(size = 100) {
  const counted = { statements: 0 }
  const statements: Statements = {
    rows: q => {
      counted.statements++
      return direct.rows(q)
    },
  }
  const deps: ProjectionDeps = { db: { ...db, statements } as ProjectionsDb, recent: new RecentRows(size) }
  const apply = (...events: EventEnvelope[]) =>
    applyEvents(
      deps,
      events.map(event => ({ event, position: { seq: ++streamSeq } })),
    )
  return { apply, counted }
}

const item = (over: Partial<ItemSnapshot> = {}): ItemSnapshot => ({
  itemId: randomUUID(),
  name: 'Tent',
  price: 2500,
  ownerId: 'owner-1',
  status: 'RENTABLE',
  rentalStatus: 'NOT_RENTING',
  deleted: false,
  location: null,
  ...over,
})
const itemEvent = (type: string, version: number, snapshot: ItemSnapshot, data: object = {}) =>
  createEvent({
    type,
    aggregateId: snapshot.itemId,
    aggregateVersion: version,
    data: { item: snapshot, ...data },
    cause: { correlationId: 'test' },
  })
const row = (itemId: string) => db.itemInfo.findUnique({ where: { itemId } })
const heldBy = (reservationId: string) => ({ reservationId, customerId: 'renter-1', customerName: 'Rita' })
const reservation = (reservationId: string, itemId: string, paymentStatus: 'NOT_PAID' | 'PAID') => ({
  reservationId,
  itemId,
  customerId: 'renter-1',
  customerName: 'Rita',
  status: 'CONFIRMED' as const,
  paymentStatus,
  rentalStatus: 'NOT_RENTING' as const,
})

describe('applyEvents with rows in memory', () => {
  it("applies an item's next event in one statement, from its row in memory", async () => {
    const { apply, counted } = instance()
    const tent = item()
    await apply(itemEvent('ItemRegistered', 1, tent))
    expect(counted.statements).toBe(2) // read (no row yet), write
    const [view] = await apply(itemEvent('ItemLent', 2, { ...tent, rentalStatus: 'RENTING' }))
    expect(counted.statements).toBe(3)
    expect(view).toMatchObject({ itemId: tent.itemId, rentalStatus: 'RENTING', version: 2 })
    expect(await row(tent.itemId)).toMatchObject({ rentalStatus: 'RENTING', version: 2, itemVersion: 2 })
  })

  it('starts again from the database when another instance wrote the row meanwhile', async () => {
    const a = instance()
    const b = instance()
    const tent = item()
    await a.apply(itemEvent('ItemRegistered', 1, tent))
    await b.apply(itemEvent('ItemLent', 2, { ...tent, rentalStatus: 'RENTING' }))
    // a's memory still holds version 1: its write fails on the row's version, and it reads and writes again.
    const [view] = await a.apply(itemEvent('ItemReturned', 3, { ...tent, rentalStatus: 'RETURNED' }))
    expect(view).toMatchObject({ rentalStatus: 'RETURNED', version: 3 })
    expect(await row(tent.itemId)).toMatchObject({ rentalStatus: 'RETURNED', version: 3, itemVersion: 3 })
    await a.apply(itemEvent('ItemDeleted', 4, { ...tent, rentalStatus: 'RETURNED', deleted: true }))
    expect(await row(tent.itemId)).toMatchObject({ deleted: true, version: 4 })
  })

  it('never records an event applied that a stale row in memory made look like nothing to do', async () => {
    const a = instance()
    const b = instance()
    const tent = item()
    const [first, second] = [randomUUID(), randomUUID()]
    const held = (version: number, reservationId: string) =>
      itemEvent('ItemHeld', version, { ...tent, status: 'NOT_RENTABLE' }, heldBy(reservationId))
    await a.apply(itemEvent('ItemRegistered', 1, tent), held(2, first))
    // Another instance releases the item and holds it for the second reservation.
    await b.apply(itemEvent('ItemReleased', 3, tent, { reservationId: first }), held(4, second))
    // a's memory still shows the first reservation: for it, a payment of the second one changes nothing.
    const paid = createEvent({
      type: 'ReservationPaid',
      aggregateId: second,
      aggregateVersion: 3,
      data: { reservation: reservation(second, tent.itemId, 'PAID'), paymentId: randomUUID(), amount: 2500 },
      cause: { correlationId: 'test' },
    })
    const [view] = await a.apply(paid)
    expect(view).toMatchObject({ reservationId: second, paymentStatus: 'PAID' })
    expect(await row(tent.itemId)).toMatchObject({ reservationId: second, paymentStatus: 'PAID' })
  })

  it('applies a redelivered event once, though memory cannot tell it was applied', async () => {
    const { apply } = instance()
    const tent = item()
    await apply(itemEvent('ItemRegistered', 1, tent))
    const lent = itemEvent('ItemLent', 2, { ...tent, rentalStatus: 'RENTING' })
    await apply(lent)
    const before = await row(tent.itemId)
    expect(await apply(lent)).toEqual([null])
    expect(await row(tent.itemId)).toEqual(before)
    expect(await db.processedEvent.count({ where: { eventId: lent.id } })).toBe(1)
  })

  it('keeps no row with a size of 0', async () => {
    const { apply, counted } = instance(0)
    const tent = item()
    await apply(itemEvent('ItemRegistered', 1, tent))
    await apply(itemEvent('ItemLent', 2, { ...tent, rentalStatus: 'RENTING' }))
    expect(counted.statements).toBe(4)
  })
})
