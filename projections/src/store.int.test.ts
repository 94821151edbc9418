// The projection's batch statements on real PostgreSQL: a batch's start is read in one statement
// (rows and the events applied before, even for items with no row yet), and its outcome is written
// in one statement that writes all of it or nothing: a row changed or an event applied meanwhile
// leaves no record, no row and no change feed row behind.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomUUID } from 'node:crypto'
import { Stack } from '../../test/harness.js'
import type { ItemInfoRow, ItemInfoView } from './item-info-rules.js'
import {
  changeRow,
  ConcurrentChange,
  createProjectionsDb,
  readBatchStart,
  writeBatch,
  type ProjectionsDb,
} from './store.js'

const stack = new Stack()
let db: ProjectionsDb

beforeAll(async () => {
  db = createProjectionsDb(await stack.migratedDatabase('projections'), 4)
}, 60_000)
afterAll(async () => {
  await db?.$disconnect()
  await stack.dispose()
})

const CONSUMER = 'projections'
const row = (over: Partial<ItemInfoRow> = {}): ItemInfoRow => ({
  itemId: randomUUID(),
  itemName: 'Tent "Ü" \\ 🏕️',
  itemPrice: 2500,
  ownerId: 'owner-1',
  itemStatus: 'RENTABLE',
  rentalStatus: 'NOT_RENTING',
  deleted: false,
  reservationId: null,
  customerId: null,
  customerName: null,
  reservationStatus: null,
  paymentStatus: null,
  lat: 37.5,
  lng: null,
  version: 1,
  itemVersion: 1,
  reservationVersion: null,
  lastSeq: 7n,
  updatedAt: new Date('2026-12-07T01:02:03.456Z'),
  cursor: 0n,
  ...over,
})
const change = (r: ItemInfoRow) => changeRow('GDMARKET', { itemId: r.itemId, version: r.version } as ItemInfoView)
const recorded = (eventIds: string[]) => db.processedEvent.count({ where: { eventId: { in: eventIds } } })
const feedRows = (rows: { id: string }[]) => db.outboxEvent.count({ where: { id: { in: rows.map(r => r.id) } } })

describe('readBatchStart and writeBatch', () => {
  it('creates and updates rows, records the events and writes the feed in the order given', async () => {
    const a = row()
    const b = row({ reservationId: randomUUID(), reservationStatus: 'CONFIRMED', paymentStatus: 'NOT_PAID' })
    const events = [randomUUID(), randomUUID()]
    const empty = await readBatchStart(db.statements, CONSUMER, [a.itemId, b.itemId], events)
    expect(empty).toEqual({ rows: new Map(), appliedBefore: new Set() })

    const changes = [change(a), change(b)]
    await writeBatch(db.statements, CONSUMER, {
      eventIds: events,
      writes: [a, b].map(next => ({ read: null, next })),
      changes,
    })
    const start = await readBatchStart(db.statements, CONSUMER, [a.itemId, b.itemId], [...events, randomUUID()])
    expect(start.rows).toEqual(new Map([a, b].map(r => [r.itemId, r])))
    expect(start.rows.get(a.itemId)).toEqual(await db.itemInfo.findUnique({ where: { itemId: a.itemId } }))
    expect(start.appliedBefore).toEqual(new Set(events))
    const seqs = await db.outboxEvent.findMany({
      where: { id: { in: changes.map(c => c.id) } },
      orderBy: { seq: 'asc' },
    })
    expect(seqs.map(s => s.id)).toEqual(changes.map(c => c.id))

    const next = { ...a, itemStatus: 'NOT_RENTABLE' as const, version: 2, lastSeq: 9n }
    await writeBatch(db.statements, CONSUMER, { eventIds: [randomUUID()], writes: [{ read: a, next }], changes: [] })
    expect(await db.itemInfo.findUnique({ where: { itemId: a.itemId } })).toEqual(next)
  })

  it('writes nothing when a row changed since it was read', async () => {
    const a = row()
    await writeBatch(db.statements, CONSUMER, {
      eventIds: [randomUUID()],
      writes: [{ read: null, next: a }],
      changes: [],
    })
    const moved = { ...a, version: 2, lastSeq: 8n }
    await writeBatch(db.statements, CONSUMER, {
      eventIds: [randomUUID()],
      writes: [{ read: a, next: moved }],
      changes: [],
    })

    const fresh = row()
    const events = [randomUUID(), randomUUID()]
    const changes = [change(fresh)]
    const stale = writeBatch(db.statements, CONSUMER, {
      eventIds: events,
      writes: [
        { read: null, next: fresh },
        { read: a, next: { ...a, version: 2, itemName: 'stale' } },
      ],
      changes,
    })
    await expect(stale).rejects.toBeInstanceOf(ConcurrentChange)
    expect(await db.itemInfo.findUnique({ where: { itemId: a.itemId } })).toEqual(moved)
    expect(await db.itemInfo.findUnique({ where: { itemId: fresh.itemId } })).toBeNull()
    expect(await recorded(events)).toBe(0)
    expect(await feedRows(changes)).toBe(0)
    // A row created meanwhile by someone else is a change too.
    const created = writeBatch(db.statements, CONSUMER, {
      eventIds: [randomUUID()],
      writes: [{ read: null, next: a }],
      changes: [],
    })
    await expect(created).rejects.toBeInstanceOf(ConcurrentChange)
  })

  it('writes nothing when one of its events was applied meanwhile', async () => {
    const applied = randomUUID()
    await writeBatch(db.statements, CONSUMER, { eventIds: [applied], writes: [], changes: [] })
    const a = row()
    const other = randomUUID()
    const changes = [change(a)]
    const again = writeBatch(db.statements, CONSUMER, {
      eventIds: [other, applied],
      writes: [{ read: null, next: a }],
      changes,
    })
    await expect(again).rejects.toThrow('an event was applied meanwhile')
    expect(await db.itemInfo.findUnique({ where: { itemId: a.itemId } })).toBeNull()
    expect(await recorded([other])).toBe(0)
    expect(await feedRows(changes)).toBe(0)
  })
})
