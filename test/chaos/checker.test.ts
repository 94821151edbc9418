// The checker on crafted data: a consistent history passes, and each kind of damage is counted in
// its own row (and only there).
import { describe, expect, it } from '@jest/globals'
import {
  check,
  decisionLatencies,
  formatTable,
  percentile,
  type MutationRecord,
  type RowName,
  type Snapshot,
  type StreamEvent,
} from './checker.js'

const ITEM = '00000000-0000-4000-8000-000000000001'
const R1 = '00000000-0000-4000-8000-0000000000a1'
const R2 = '00000000-0000-4000-8000-0000000000a2'

let seq = 0
function ev(
  type: string,
  aggregateId: string,
  aggregateVersion: number,
  data: Record<string, unknown>,
  causationId: string | null = null,
  at = 0,
): StreamEvent {
  seq++
  return {
    seq,
    id: `e${seq}`,
    type,
    version: 1,
    occurredAt: new Date(Date.UTC(2026, 11, 1) + at).toISOString(),
    aggregateId,
    aggregateVersion,
    correlationId: 'c',
    causationId,
    data,
  }
}

const item = (v: Record<string, unknown> = {}) => ({
  itemId: ITEM,
  name: 'Camera',
  price: 100,
  ownerId: 'owner-1',
  status: 'NOT_RENTABLE',
  rentalStatus: 'NOT_RENTING',
  deleted: false,
  ...v,
})
const res = (id: string, v: Record<string, unknown> = {}) => ({
  reservation: {
    reservationId: id,
    itemId: ITEM,
    customerId: 'renter-1',
    status: 'PENDING',
    paymentStatus: 'NOT_PAID',
    ...v,
  },
})

/** R1 wins the camera, pays, borrows and returns it; R2, asked later, is rejected. */
function history(): StreamEvent[] {
  seq = 0
  const registered = ev('ItemRegistered', ITEM, 1, { item: item({ status: 'RENTABLE' }) })
  const req1 = ev('ReservationRequested', R1, 1, res(R1), null, 0)
  const req2 = ev('ReservationRequested', R2, 1, res(R2), null, 10)
  const held = ev('ItemHeld', ITEM, 2, { item: item(), reservationId: R1 }, req1.id)
  const rejected = ev('ItemHoldRejected', ITEM, 2, { itemId: ITEM, reservationId: R2, reason: 'NOT_RENTABLE' }, req2.id)
  const confirmed = ev('ReservationConfirmed', R1, 2, res(R1, { status: 'CONFIRMED' }), held.id, 40)
  const refused = ev('ReservationRejected', R2, 2, res(R2, { status: 'REJECTED' }), rejected.id, 1010)
  const paid = ev('ReservationPaid', R1, 3, res(R1, { status: 'CONFIRMED', paymentStatus: 'PAID' }))
  const lent = ev('ItemLent', ITEM, 3, { item: item({ rentalStatus: 'RENTING' }), reservationId: R1 })
  const renting = ev(
    'ReservationRentalChanged',
    R1,
    4,
    res(R1, { status: 'CONFIRMED', paymentStatus: 'PAID' }),
    lent.id,
  )
  const back = ev('ItemReturned', ITEM, 4, {
    item: item({ status: 'RENTABLE', rentalStatus: 'RETURNED' }),
    reservationId: R1,
  })
  const returned = ev(
    'ReservationRentalChanged',
    R1,
    5,
    res(R1, { status: 'CONFIRMED', paymentStatus: 'PAID' }),
    back.id,
  )
  return [registered, req1, req2, held, rejected, confirmed, refused, paid, lent, renting, back, returned]
}

function consistent(): Snapshot {
  const events = history()
  const processed = events.flatMap(e => {
    const out = [{ consumer: 'projections', eventId: e.id }]
    if (e.type.startsWith('Reservation') && e.type !== 'ReservationConfirmed' && e.type !== 'ReservationRejected')
      out.push({ consumer: 'item', eventId: e.id })
    if (['ItemHeld', 'ItemHoldRejected', 'ItemLent', 'ItemReturned'].includes(e.type))
      out.push({ consumer: 'reservation', eventId: e.id })
    return out
  })
  return {
    items: [
      {
        id: ITEM,
        name: 'Camera',
        price: 100,
        status: 'RENTABLE',
        rentalStatus: 'RETURNED',
        holdReservationId: null,
        deleted: false,
      },
    ],
    reservations: [
      { id: R1, itemId: ITEM, status: 'CONFIRMED', paymentStatus: 'PAID', rentalStatus: 'RETURNED' },
      { id: R2, itemId: ITEM, status: 'REJECTED', paymentStatus: 'NOT_PAID', rentalStatus: 'NOT_RENTING' },
    ],
    payments: [{ reservationId: R1, status: 'PAID' }],
    itemInfos: [
      {
        itemId: ITEM,
        itemName: 'Camera',
        itemPrice: 100,
        itemStatus: 'RENTABLE',
        rentalStatus: 'RETURNED',
        deleted: false,
        reservationId: R1,
        reservationStatus: 'CONFIRMED',
        paymentStatus: 'PAID',
      },
    ],
    events,
    processed,
    outbox: events.map(e => ({ db: 'x', id: e.id, published: true })),
    deadLetters: 0,
  }
}

const accepted = (): MutationRecord[] => [
  { op: 'registerItem', target: ITEM, sentAt: 0, answeredAt: 1, outcome: 'ok' },
  { op: 'reserveItem', target: R1, sentAt: 2, answeredAt: 3, outcome: 'ok' },
  { op: 'payReservation', target: R1, sentAt: 10, answeredAt: 11, outcome: 'ok' },
  { op: 'cancelPayment', target: R1, sentAt: 12, answeredAt: 13, outcome: 'CONFLICT' },
  { op: 'lendItem', target: R1, sentAt: 12, answeredAt: 14, outcome: 'ok' },
  { op: 'returnItem', target: ITEM, sentAt: 20, answeredAt: 21, outcome: 'ok' },
]

/** The rows that are not 0. */
const failing = (s: Snapshot, log = accepted()) =>
  Object.fromEntries(
    check(s, log)
      .rows.filter(r => r.count)
      .map(r => [r.name, r.count]),
  ) as Partial<Record<RowName, number>>

describe('the consistency checker', () => {
  it('passes a consistent history', () => {
    const result = check(consistent(), accepted())
    expect(result.ok).toBe(true)
    expect(formatTable(result)).toContain('consistent: every row is 0')
  })

  it('counts a reservation still PENDING', () => {
    const s = consistent()
    s.reservations[1].status = 'PENDING'
    expect(failing(s)).toEqual({ 'reservations PENDING after settling': 1 })
  })

  it('counts accepted mutations that are lost or not reflected', () => {
    const s = consistent()
    const log: MutationRecord[] = [
      ...accepted(),
      { op: 'reserveItem', target: 'gone', sentAt: 30, answeredAt: 31, outcome: 'ok' },
      { op: 'registerItem', target: 'gone-item', sentAt: 30, answeredAt: 31, outcome: 'ok' },
      // Not an acceptance: nothing is promised.
      { op: 'reserveItem', target: 'never', sentAt: 30, answeredAt: 31, outcome: 'unknown' },
      // R2 cancelled with an OK answer, but it is REJECTED.
      { op: 'cancelReservation', target: R2, sentAt: 40, answeredAt: 41, outcome: 'ok' },
      // A failure that is not the contract's: SERVICE_UNAVAILABLE is.
      { op: 'reserveItem', target: '', sentAt: 50, answeredAt: 51, outcome: 'INTERNAL_SERVER_ERROR' },
      { op: 'reserveItem', target: '', sentAt: 50, answeredAt: 51, outcome: 'SERVICE_UNAVAILABLE' },
    ]
    expect(failing(s, log)).toEqual({
      'accepted mutations lost or not reflected': 3,
      'answered INTERNAL_SERVER_ERROR': 1,
    })
  })

  it('asserts nothing about two accepted mutations that overlapped in time', () => {
    const s = consistent()
    const log: MutationRecord[] = [
      ...accepted(),
      { op: 'cancelPayment', target: R1, sentAt: 50, answeredAt: 60, outcome: 'ok' },
      { op: 'payReservation', target: R1, sentAt: 55, answeredAt: 58, outcome: 'ok' },
    ]
    expect(failing(s, log)).toEqual({})
    // A later cancellation answered PAYMENT_UNAVAILABLE may have happened: nothing asserted either.
    const unclear: MutationRecord[] = [
      ...accepted(),
      { op: 'cancelReservation', target: R1, sentAt: 30, answeredAt: 31, outcome: 'PAYMENT_UNAVAILABLE' },
    ]
    const refunded = consistent()
    refunded.reservations[0] = { ...refunded.reservations[0], paymentStatus: 'CANCELLED' }
    expect(failing(refunded, unclear)['accepted mutations lost or not reflected']).toBeUndefined()
    // One after the other, the later cancelPayment must be reflected.
    log[log.length - 1] = { op: 'payReservation', target: R1, sentAt: 40, answeredAt: 45, outcome: 'ok' }
    expect(failing(s, log)).toEqual({ 'accepted mutations lost or not reflected': 1 })
  })

  it('counts money that disagrees with the reservation', () => {
    const s = consistent()
    s.payments[0].status = 'CANCELLED'
    expect(failing(s)).toEqual({ 'PAID without charge': 1, 'lent without a charge or with a refund': 1 })

    const t = consistent()
    t.payments.push({ reservationId: R2, status: 'PAID' })
    expect(failing(t)).toEqual({ 'charge without PAID': 1, 'money on a CANCELLED/REJECTED reservation': 1 })
  })

  it('counts a reservation lent by its own events even without an ItemLent', () => {
    const s = consistent()
    s.events = s.events.filter(e => e.type !== 'ItemLent')
    s.outbox = s.events.map(e => ({ db: 'x', id: e.id, published: true }))
    const renting = s.events.find(e => e.type === 'ReservationRentalChanged')!
    renting.data = res(R1, { status: 'CONFIRMED', paymentStatus: 'PAID', rentalStatus: 'RENTING' })
    s.payments[0].status = 'CANCELLED'
    expect(failing(s, [])).toMatchObject({ 'lent without a charge or with a refund': 1 })
  })

  it('counts a reservation cancelled although its item was lent', () => {
    const s = consistent()
    s.reservations[0] = { ...s.reservations[0], status: 'CANCELLED', paymentStatus: 'CANCELLED' }
    s.payments[0].status = 'CANCELLED'
    s.itemInfos[0].reservationStatus = 'CANCELLED'
    s.itemInfos[0].paymentStatus = 'CANCELLED'
    expect(failing(s, [])).toEqual({
      'cancelled or rejected yet lent': 1,
      'lent without a charge or with a refund': 1,
    })
  })

  it('counts two reservations holding one item at the end', () => {
    const s = consistent()
    s.items[0] = { ...s.items[0], status: 'NOT_RENTABLE', rentalStatus: 'NOT_RENTING', holdReservationId: R2 }
    s.reservations[0].rentalStatus = 'NOT_RENTING'
    s.reservations[1].status = 'CONFIRMED'
    const rows = failing(s, [])
    expect(rows['double bookings (final state)']).toBe(1)
    expect(rows['item and reservation disagree']).toBe(1)
  })

  it('counts a second hold in the item history while the first is held', () => {
    const s = consistent()
    const i = s.events.findIndex(e => e.type === 'ItemHoldRejected')
    const rejected = s.events[i]
    s.events[i] = { ...rejected, type: 'ItemHeld', aggregateVersion: 3, data: { item: item(), reservationId: R2 } }
    for (const e of s.events.slice(i + 1)) if (e.aggregateId === ITEM) e.aggregateVersion++
    const rows = failing(s, [])
    expect(rows['double bookings (item history)']).toBe(1)
  })

  it('counts an item released while lent', () => {
    const s = consistent()
    const back = s.events.find(e => e.type === 'ItemReturned')!
    back.type = 'ItemReleased'
    const rows = failing(s, [])
    expect(rows['item released while lent']).toBe(1)
  })

  it('counts a reservation RENTING whose item is not lent to it', () => {
    const s = consistent()
    s.reservations[0].rentalStatus = 'RENTING'
    expect(failing(s)).toEqual({ 'item and reservation disagree': 1 })
    // Held for it but not lent.
    s.items[0] = { ...s.items[0], status: 'NOT_RENTABLE', rentalStatus: 'NOT_RENTING', holdReservationId: R1 }
    s.itemInfos[0] = { ...s.itemInfos[0], itemStatus: 'NOT_RENTABLE', rentalStatus: 'NOT_RENTING' }
    expect(failing(s)).toEqual({ 'item and reservation disagree': 1 })
  })

  it('counts every ItemInfo field that differs from its sources, and a missing ItemInfo', () => {
    const s = consistent()
    s.itemInfos[0].paymentStatus = 'NOT_PAID'
    expect(failing(s)).toEqual({ 'ItemInfo ≠ sources': 1 })
    s.itemInfos = []
    expect(failing(s)).toEqual({ 'ItemInfo ≠ sources': 1 })
  })

  it('counts events never published, never applied, or applied twice', () => {
    const s = consistent()
    s.outbox.push({ db: 'item', id: 'stuck', published: false }, { db: 'item', id: 'lost', published: true })
    s.processed = s.processed.filter(p => !(p.consumer === 'item' && p.eventId === s.events[1].id))
    expect(failing(s)).toEqual({ 'events missing': 3 })

    const t = consistent()
    const confirmed = t.events.find(e => e.type === 'ReservationConfirmed')!
    t.events.push({ ...confirmed, id: 'copy', seq: 99 })
    t.processed.push({ consumer: 'projections', eventId: 'copy' })
    expect(failing(t)).toEqual({ 'events applied twice': 1 })
  })

  it('does not look for ProcessedEvent rows of events older than their retention', () => {
    const s = consistent()
    s.processed = []
    s.processedSince = Date.UTC(2026, 11, 2)
    expect(failing(s)).toEqual({})
  })

  it('does not count a re-published copy of one event (same id) twice', () => {
    const s = consistent()
    s.events.push({ ...s.events[3], seq: 100 })
    expect(failing(s)).toEqual({})
  })

  it('counts a later requester winning over an earlier one', () => {
    const s = consistent()
    // Swap who won: R2 (asked second) is held, R1 (asked first) rejected.
    const held = s.events.find(e => e.type === 'ItemHeld')!
    const rejected = s.events.find(e => e.type === 'ItemHoldRejected')!
    held.data = { ...held.data, reservationId: R2 }
    rejected.data = { ...rejected.data, reservationId: R1 }
    const rows = failing(s, [])
    expect(rows['first-come violations']).toBe(1)
    expect(rows['decided out of stream order']).toBe(1)
  })

  it('counts dead letters', () => {
    const s = consistent()
    s.deadLetters = 2
    expect(failing(s)).toEqual({ 'dead letters': 2 })
  })

  it('counts restarts the run saw exit before they were ready', () => {
    const rows = check(consistent(), accepted(), { failedStarts: ['item attempt 1', 'item attempt 2'] }).rows
    expect(rows.find(r => r.name === 'restarts that exited before ready')?.count).toBe(2)
  })

  it('measures reserve → decided from the stream', () => {
    const { decided, undecided } = decisionLatencies(history())
    expect(decided).toEqual([40, 1000])
    expect(undecided).toBe(0)
    expect(percentile(decided, 50)).toBe(40)
    expect(percentile(decided, 99)).toBe(1000)
    expect(percentile([], 99)).toBe(0)
  })
})

describe('what the checker expects each consumer to apply', () => {
  it('is what the consumers’ handler tables handle', async () => {
    const { handledTypes } = await import('@gdmarket/platform/consumer')
    const { reservationHandlers } = await import('../../subgraphs/item/src/saga.js')
    const { itemHandlers } = await import('../../subgraphs/reservation/src/saga.js')
    const { projectionHandlers } = await import('../../projections/src/item-info.js')
    const { CONSUMES } = await import('./checker.js')
    // The tables are only read here, never called: no transaction or database is needed.
    const tables = {
      item: handledTypes(reservationHandlers(null as never).handlers),
      reservation: handledTypes(itemHandlers(null as never).handlers),
      projections: handledTypes(projectionHandlers(null as never)),
    }
    const known = new Set(Object.values(tables).flat())
    for (const [consumer, types] of Object.entries(tables))
      expect([...known].filter(CONSUMES[consumer]).sort()).toEqual(
        [...types].filter(t => consumer !== 'projections' || CONSUMES.projections(t)).sort(),
      )
  })
})
