import { describe, expect, it } from '@jest/globals'
import { randomUUID } from 'node:crypto'
import { createEvent, type EventEnvelope } from '@gdmarket/platform/events'
import type { ItemSnapshot } from '@gdmarket/contracts/item'
import type { ReservationSnapshot } from '@gdmarket/contracts/reservation'
import { canChange, decide, itemIdOf, viewOf, type ItemInfoRow } from './item-info-rules.js'

const itemId = randomUUID()
const r1 = randomUUID()
const r2 = randomUUID()
const item = (o: Partial<ItemSnapshot> = {}): ItemSnapshot => ({
  itemId,
  name: 'Drill',
  price: 500,
  ownerId: 'owner-1',
  status: 'RENTABLE',
  rentalStatus: 'NOT_RENTING',
  deleted: false,
  ...o,
})
const reservation = (o: Partial<ReservationSnapshot> = {}): ReservationSnapshot => ({
  ...{ reservationId: r1, itemId, customerId: 'cust-1', customerName: 'Kim' },
  ...{ status: 'CONFIRMED', paymentStatus: 'NOT_PAID', rentalStatus: 'NOT_RENTING' },
  ...o,
})
const ev = (type: string, aggregateId: string, aggregateVersion: number, data: object): EventEnvelope =>
  ({
    ...createEvent({ type, aggregateId, aggregateVersion, data, cause: { correlationId: 'c' } }),
    occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, aggregateVersion)).toISOString(),
  }) as EventEnvelope
const itemEv = (type: string, v: number, o: Partial<ItemSnapshot> = {}, extra: object = {}) =>
  ev(type, itemId, v, { item: item(o), ...extra })
const resEv = (type: string, v: number, o: Partial<ReservationSnapshot> = {}) =>
  ev(type, o.reservationId ?? r1, v, { reservation: reservation(o) })

/** Folds events through decide like the read model does, with seq = position + 1. */
function run(events: EventEnvelope[], start: ItemInfoRow | null = null): ItemInfoRow | null {
  return events.reduce<ItemInfoRow | null>((row, e, i) => decide(row, e, i + 1)?.row ?? row, start)
}

const registered = () => run([itemEv('ItemRegistered', 1)])!
const held = () =>
  run([
    itemEv('ItemRegistered', 1),
    itemEv('ItemHeld', 2, { status: 'NOT_RENTABLE' }, { reservationId: r1, customerId: 'cust-1', customerName: 'Kim' }),
  ])!

describe('ItemInfo decisions', () => {
  it('ItemRegistered creates the row at version 1 from the snapshot', () => {
    const out = decide(null, itemEv('ItemRegistered', 1), 7)
    expect(out?.changed).toBe(true)
    expect(out?.row).toMatchObject({
      itemId,
      itemName: 'Drill',
      itemPrice: 500,
      ownerId: 'owner-1',
      itemStatus: 'RENTABLE',
      rentalStatus: 'NOT_RENTING',
      deleted: false,
    })
    expect(out?.row).toMatchObject({
      reservationId: null,
      version: 1,
      itemVersion: 1,
      reservationVersion: null,
      lastSeq: 7n,
    })
    expect(out?.row.updatedAt.toISOString()).toBe('2026-01-01T00:00:01.000Z')
  })

  it('ignores the same or an older item version (redelivery, out of order)', () => {
    const row = run([itemEv('ItemRegistered', 1), itemEv('ItemDeleted', 2, { deleted: true })])!
    expect(decide(row, itemEv('ItemDeleted', 2, { deleted: true }), 9)).toBeNull()
    expect(decide(row, itemEv('ItemRegistered', 1), 10)).toBeNull()
  })

  it('ItemDeleted marks the row deleted and its view has no item; before, the item with what the read model provides', () => {
    const row = run([itemEv('ItemDeleted', 2, { deleted: true })], registered())!
    expect(row).toMatchObject({ deleted: true, version: 2, itemVersion: 2 })
    expect(viewOf(row).item).toBeNull()
    const live = registered()
    expect(viewOf(live).item).toEqual({ id: itemId, name: live.itemName, price: live.itemPrice, ownerId: live.ownerId })
  })

  it('carries the location from the snapshot; an event from before locations keeps it', () => {
    const at = { lat: 37.5665, lng: 126.978 }
    const row = run([itemEv('ItemRegistered', 1, { location: at })])!
    expect(row).toMatchObject({ lat: 37.5665, lng: 126.978 })
    expect(viewOf(row).location).toEqual(at)
    const older = run([itemEv('ItemLent', 2, { rentalStatus: 'RENTING' })], row)!
    expect(viewOf(older).location).toEqual(at)
    expect(viewOf(registered()).location).toBeNull()
  })

  it('ItemHeld makes its reservation the one shown: CONFIRMED, NOT_PAID', () => {
    expect(held()).toMatchObject({
      itemStatus: 'NOT_RENTABLE',
      reservationId: r1,
      customerId: 'cust-1',
      customerName: 'Kim',
    })
    expect(held()).toMatchObject({
      reservationStatus: 'CONFIRMED',
      paymentStatus: 'NOT_PAID',
      reservationVersion: 0,
      version: 2,
    })
  })

  it('ItemHoldRejected, ReservationRequested and payment events change nothing', () => {
    expect(
      decide(held(), ev('ItemHoldRejected', itemId, 2, { itemId, reservationId: r2, reason: 'NOT_RENTABLE' }), 5),
    ).toBeNull()
    expect(decide(held(), resEv('ReservationRequested', 1, { reservationId: r2, status: 'PENDING' }), 5)).toBeNull()
    const paid = ev('PaymentApproved', randomUUID(), 1, {
      paymentId: 'p',
      reservationId: r1,
      customerId: 'cust-1',
      amount: 500,
    })
    expect(decide(held(), paid, 5)).toBeNull()
    expect(itemIdOf(paid)).toBeNull()
  })

  it('ReservationConfirmed that shows nothing new advances bookkeeping only (no version bump)', () => {
    const out = decide(held(), resEv('ReservationConfirmed', 2), 5)
    expect(out?.changed).toBe(false)
    expect(out?.row).toMatchObject({ version: 2, reservationVersion: 2, lastSeq: 5n })
    expect(out?.row.updatedAt).toEqual(held().updatedAt)
  })

  it('ReservationPaid, PaymentCancelled, Cancelled and Rejected show the reservation snapshot', () => {
    const paid = run([resEv('ReservationPaid', 3, { paymentStatus: 'PAID' })], held())!
    expect(paid).toMatchObject({ paymentStatus: 'PAID', version: 3, reservationVersion: 3 })
    expect(run([resEv('ReservationPaymentCancelled', 4, { paymentStatus: 'CANCELLED' })], paid)).toMatchObject({
      paymentStatus: 'CANCELLED',
      version: 4,
    })
    expect(
      run([resEv('ReservationCancelled', 4, { status: 'CANCELLED', paymentStatus: 'CANCELLED' })], paid),
    ).toMatchObject({ reservationStatus: 'CANCELLED', version: 4 })
    expect(run([resEv('ReservationRejected', 3, { status: 'REJECTED' })], held())).toMatchObject({
      reservationStatus: 'REJECTED',
      version: 3,
    })
  })

  it('ignores reservation events that are older, or of a reservation not shown, or of an unknown item', () => {
    const paid = run([resEv('ReservationPaid', 3, { paymentStatus: 'PAID' })], held())!
    expect(decide(paid, resEv('ReservationConfirmed', 2), 8)).toBeNull()
    expect(decide(paid, resEv('ReservationPaid', 3, { paymentStatus: 'PAID' }), 8)).toBeNull()
    expect(decide(paid, resEv('ReservationCancelled', 5, { reservationId: r2, status: 'CANCELLED' }), 8)).toBeNull()
    expect(decide(null, resEv('ReservationPaid', 3), 8)).toBeNull()
  })

  it('lend, rental change and return follow the item snapshot and keep the reservation with its final statuses', () => {
    const paid = run([resEv('ReservationPaid', 3, { paymentStatus: 'PAID' })], held())!
    const lent = run(
      [itemEv('ItemLent', 3, { status: 'NOT_RENTABLE', rentalStatus: 'RENTING' }, { reservationId: r1 })],
      paid,
    )!
    expect(lent).toMatchObject({ rentalStatus: 'RENTING', version: 4 })
    const rentalChanged = decide(
      lent,
      resEv('ReservationRentalChanged', 4, { paymentStatus: 'PAID', rentalStatus: 'RENTING' }),
      20,
    )
    expect(rentalChanged).toMatchObject({ changed: false, row: { version: 4, reservationVersion: 4 } })
    const returned = run(
      [itemEv('ItemReturned', 4, { status: 'RENTABLE', rentalStatus: 'RETURNED' }, { reservationId: r1 })],
      rentalChanged!.row,
    )!
    expect(returned).toMatchObject({
      itemStatus: 'RENTABLE',
      rentalStatus: 'RETURNED',
      reservationId: r1,
      reservationStatus: 'CONFIRMED',
      paymentStatus: 'PAID',
      version: 5,
    })
  })

  it('ItemReleased frees the item; a cancellation heard before the hold is concluded from it', () => {
    const cancelled = run([resEv('ReservationCancelled', 3, { status: 'CANCELLED' })], held())!
    const released = run([itemEv('ItemReleased', 3, {}, { reservationId: r1 })], cancelled)!
    expect(released).toMatchObject({
      itemStatus: 'RENTABLE',
      reservationId: r1,
      reservationStatus: 'CANCELLED',
      version: 4,
    })
    // Cancelled while PENDING: its event reached the stream before ItemHeld and was ignored then.
    expect(run([itemEv('ItemReleased', 3, {}, { reservationId: r1 })], held())).toMatchObject({
      itemStatus: 'RENTABLE',
      reservationStatus: 'CANCELLED',
      version: 3,
    })
  })

  it('a new hold replaces the reservation shown and lets its events apply', () => {
    const returned = run([itemEv('ItemReleased', 3, {}, { reservationId: r1 })], held())!
    const second = run(
      [
        itemEv(
          'ItemHeld',
          4,
          { status: 'NOT_RENTABLE' },
          { reservationId: r2, customerId: 'cust-2', customerName: 'Lee' },
        ),
      ],
      returned,
    )!
    expect(second).toMatchObject({
      reservationId: r2,
      customerName: 'Lee',
      reservationStatus: 'CONFIRMED',
      paymentStatus: 'NOT_PAID',
      reservationVersion: 0,
    })
    expect(run([resEv('ReservationPaid', 3, { reservationId: r2, paymentStatus: 'PAID' })], second)).toMatchObject({
      paymentStatus: 'PAID',
      version: second.version + 1,
    })
    expect(decide(second, resEv('ReservationPaid', 9, { paymentStatus: 'PAID' }), 30)).toBeNull()
  })

  it('an item event for an item never seen creates the row from its snapshot', () => {
    const out = decide(
      null,
      itemEv('ItemLent', 5, { status: 'NOT_RENTABLE', rentalStatus: 'RENTING' }, { reservationId: r1 }),
      40,
    )
    expect(out?.row).toMatchObject({ rentalStatus: 'RENTING', version: 1, itemVersion: 5, reservationId: null })
    expect(
      decide(null, ev('ItemHoldRejected', itemId, 0, { itemId, reservationId: r1, reason: 'NOT_FOUND' }), 1),
    ).toBeNull()
  })

  it('the version grows by exactly one per change over a whole rental', () => {
    const events = [
      itemEv('ItemRegistered', 1),
      resEv('ReservationRequested', 1, { status: 'PENDING' }),
      itemEv(
        'ItemHeld',
        2,
        { status: 'NOT_RENTABLE' },
        { reservationId: r1, customerId: 'cust-1', customerName: 'Kim' },
      ),
      resEv('ReservationConfirmed', 2),
      resEv('ReservationPaid', 3, { paymentStatus: 'PAID' }),
      itemEv('ItemLent', 3, { status: 'NOT_RENTABLE', rentalStatus: 'RENTING' }, { reservationId: r1 }),
      resEv('ReservationRentalChanged', 4, { paymentStatus: 'PAID', rentalStatus: 'RENTING' }),
      itemEv('ItemReturned', 4, { rentalStatus: 'RETURNED' }, { reservationId: r1 }),
    ]
    const versions: number[] = []
    events.reduce<ItemInfoRow | null>((row, e, i) => {
      const out = decide(row, e, i + 1)
      if (out?.changed) versions.push(out.row.version)
      return out?.row ?? row
    }, null)
    expect(versions).toEqual([1, 2, 3, 4, 5])
    expect(itemIdOf(events[1])).toBe(itemId)
    // Requests and rejected holds never change an ItemInfo: skipped before any database work.
    expect(events.filter(e => !canChange(e.type)).map(e => e.type)).toEqual(['ReservationRequested'])
  })
})
