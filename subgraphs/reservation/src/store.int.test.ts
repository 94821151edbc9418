// The reservation's one-statement writes on real PostgreSQL: the ReservationRequested and
// ReservationConfirmed envelopes the statements build in SQL are the ones the TypeScript path
// (snapshot + createEvent) builds for the same row, the relay is kicked with exactly the row
// stored, several confirmations are one statement with each hold's own cause, and a confirmation
// with nothing to do writes nothing.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomUUID } from 'node:crypto'
import { createEvent, type EventEnvelope } from '@gdmarket/platform/events'
import { newId } from '@gdmarket/platform/ids'
import type { OutboxRow } from '@gdmarket/platform/outbox'
import { Stack } from '../../../test/harness.js'
import { prismaStatements } from '@gdmarket/platform/statements'
import {
  confirmHolds,
  createReservation,
  createReservationDb,
  reservationOutbox,
  snapshot,
  type Hold,
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
/** The rows the relay was kicked with, their envelopes read back from the text it publishes. */
const kickedRows = () => kicked.flat().map(r => ({ ...r, envelope: JSON.parse(r.envelope as string) as EventEnvelope }))
const reserve = (customerName = 'Rita') =>
  transact.alone((d, events) =>
    createReservation(d, { id: newId(), itemId: randomUUID(), customerId: 'renter-1', customerName }, cause, events),
  )
const hold = (r: Reservation, price = 700): Hold => ({
  eventId: randomUUID(),
  cause: { correlationId: randomUUID(), causationId: randomUUID() },
  reservationId: r.id,
  amount: price,
  ownerId: 'owner-1',
})
const confirm = (...holds: Hold[]) =>
  transact.alone((d, events) => confirmHolds(d, 'reservation', 'PENDING', holds, events))

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
      expect(kickedRows()).toEqual([row])
    },
  )

  it('writes the same inside a transaction (an Idempotency-Key), and kicks the relay after its commit', async () => {
    kicked.length = 0
    const r = await transact(cause, async (tx, events) => {
      const created = await createReservation(
        prismaStatements(tx),
        { id: newId(), itemId: randomUUID(), customerId: 'renter-1', customerName: 'Rita' },
        cause,
        events,
      )
      expect(kicked).toEqual([])
      return created
    })
    expect(r).toEqual(await db.reservation.findUnique({ where: { id: r.id } }))
    expect(kickedRows()).toEqual(await outbox(r.id))
  })
})

describe('confirmHolds', () => {
  it('writes the ReservationConfirmed the TypeScript path writes; again, or not PENDING, nothing', async () => {
    const r = await reserve()
    const first = hold(r)
    kicked.length = 0
    await confirm(first)
    const next = (await db.reservation.findUnique({ where: { id: r.id } }))!
    expect(next).toMatchObject({ status: 'CONFIRMED', amount: 700, ownerId: 'owner-1', version: 2 })
    const [, row] = await outbox(r.id)
    expect(row.envelope).toEqual({
      ...createEvent({
        type: 'ReservationConfirmed',
        aggregateId: r.id,
        aggregateVersion: 2,
        data: { reservation: snapshot(next), amount: 700 },
        cause: first.cause,
      }),
      id: row.envelope.id,
      occurredAt: row.envelope.occurredAt,
    })
    expect(kickedRows()).toEqual([row])

    kicked.length = 0
    await confirm(first)
    await confirm(hold(r))
    expect(await outbox(r.id)).toHaveLength(2)
    expect(kicked).toEqual([])
    expect(await db.reservation.findUnique({ where: { id: r.id } })).toEqual(next)
  })

  it('confirms several reservations in one statement, each with its own amount and cause', async () => {
    const rs = await Promise.all([reserve('A'), reserve('B'), reserve('C')])
    const holds = rs.map((r, k) => hold(r, 100 * (k + 1)))
    kicked.length = 0
    await confirm(...holds)
    expect(kicked).toHaveLength(1)
    for (const [k, r] of rs.entries()) {
      const next = (await db.reservation.findUnique({ where: { id: r.id } }))!
      expect(next).toMatchObject({ status: 'CONFIRMED', amount: 100 * (k + 1), version: 2 })
      const [, row] = await outbox(r.id)
      expect(row.envelope).toMatchObject({
        aggregateVersion: 2,
        causationId: holds[k].cause.causationId,
        correlationId: holds[k].cause.correlationId,
        data: { reservation: snapshot(next), amount: 100 * (k + 1) },
      })
      expect(kickedRows()).toContainEqual(row)
    }
  })
})
