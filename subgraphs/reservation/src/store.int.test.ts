// The reservation's one-statement writes on real PostgreSQL: the ReservationRequested and
// ReservationConfirmed envelopes the statements build in SQL are the ones the TypeScript path
// (snapshot + createEvent) builds for the same row, the relay is kicked with exactly the row
// stored, and a confirmation with nothing to do writes nothing.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomUUID } from 'node:crypto'
import { createEvent, type EventEnvelope } from '@gdmarket/platform/events'
import { newId } from '@gdmarket/platform/ids'
import type { OutboxRow } from '@gdmarket/platform/outbox'
import { Stack } from '../../../test/harness.js'
import {
  confirmHold,
  createReservation,
  createReservationDb,
  reservationOutbox,
  snapshot,
  type Reservation,
  type ReservationDb,
} from './store.js'

const stack = new Stack()
let db: ReservationDb
const kicked: OutboxRow[][] = []
let transact: ReturnType<typeof reservationOutbox>['transact']

beforeAll(async () => {
  db = createReservationDb(await stack.migratedDatabase('reservation'), 4)
  transact = reservationOutbox(db, 'GDMARKET', rows => kicked.push(rows ?? [])).transact
}, 60_000)
afterAll(async () => {
  await db?.$disconnect()
  await stack.dispose()
})

const cause = { correlationId: randomUUID(), causationId: null }
const outbox = async (aggregateId: string) =>
  (await db.outboxEvent.findMany({ orderBy: { seq: 'asc' } }))
    .map(r => ({ id: r.id, subject: r.subject, envelope: r.envelope as unknown as EventEnvelope }))
    .filter(r => r.envelope.aggregateId === aggregateId)
const reserve = (customerName = 'Rita') =>
  transact.alone(cause, (d, events) =>
    createReservation(d, { id: newId(), itemId: randomUUID(), customerId: 'renter-1', customerName }, events),
  )
const held = (r: Reservation, price = 700) => ({
  reservationId: r.id,
  from: 'PENDING' as const,
  amount: price,
  ownerId: 'owner-1',
})

describe('createReservation', () => {
  it.each(['Rita', 'Ri"ta \\ 김 🏕️'])(
    'writes the ReservationRequested the TypeScript path writes (%s) and kicks the relay with it',
    async name => {
      kicked.length = 0
      const r = await reserve(name)
      expect(r).toEqual(await db.reservation.findUnique({ where: { id: r.id } }))
      expect(r).toMatchObject({ status: 'PENDING', version: 1, customerName: name })
      expect(r.createdAt).toBeInstanceOf(Date)
      const [row] = await outbox(r.id)
      expect(row.subject).toBe('gdmarket.reservation.ReservationRequested')
      expect(row.envelope).toEqual({
        ...createEvent({
          type: 'ReservationRequested',
          aggregateId: r.id,
          aggregateVersion: r.version,
          data: { reservation: snapshot(r) },
          cause,
        }),
        id: row.envelope.id,
        occurredAt: row.envelope.occurredAt,
      })
      expect(kicked).toEqual([[row]])
    },
  )
})

describe('confirmHold', () => {
  it('writes the ReservationConfirmed the TypeScript path writes; again, or not PENDING, nothing', async () => {
    const r = await reserve()
    const applied = { consumer: 'reservation', eventId: randomUUID() }
    kicked.length = 0
    const next = await transact.alone(cause, (d, events) => confirmHold(d, applied, held(r), events))
    expect(next).toEqual(await db.reservation.findUnique({ where: { id: r.id } }))
    expect(next).toMatchObject({ status: 'CONFIRMED', amount: 700, ownerId: 'owner-1', version: 2 })
    const [, row] = await outbox(r.id)
    expect(row.envelope).toEqual({
      ...createEvent({
        type: 'ReservationConfirmed',
        aggregateId: r.id,
        aggregateVersion: 2,
        data: { reservation: snapshot(next!), amount: 700 },
        cause,
      }),
      id: row.envelope.id,
      occurredAt: row.envelope.occurredAt,
    })
    expect(kicked).toEqual([[row]])

    kicked.length = 0
    expect(await transact.alone(cause, (d, events) => confirmHold(d, applied, held(r), events))).toBeNull()
    const fresh = { consumer: 'reservation', eventId: randomUUID() }
    expect(await transact(cause, (tx, events) => confirmHold(tx, fresh, held(r), events))).toBeNull()
    expect(await outbox(r.id)).toHaveLength(2)
    expect(kicked).toEqual([])
  })
})
