// The reservation's side of the saga against real NATS and PostgreSQL: item events published into
// the stack's stream as the item subgraph would; redeliveries and late events change nothing.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { eventually, Stack } from '../../../test/harness.js'
import { emitItemEvent, handled, itemSnapshot, mutate, person, readReservation, stored } from './testing.js'
import { TestBus } from '../../../test/bus.js'

describe('reservation saga handlers', () => {
  const stack = new Stack()
  let items: TestBus
  const renter = person('Kim', ['renter'])
  const owner = person('Park', ['owner'])

  beforeAll(async () => {
    await stack.start('reservation', 'payment')
    items = await TestBus.open(stack)
  }, 90_000)
  afterAll(async () => {
    await items?.close()
    await stack.dispose()
  })

  const reserve = async () => (await mutate(stack, renter, 'reserveItem', randomUUID())).data!.r
  const held = (itemId: string, reservationId: string, price = 500) => ({
    item: itemSnapshot(itemId, owner.userId, price),
    reservationId,
    customerId: renter.userId,
    customerName: renter.name,
  })
  const settled = async (id: string, ok: (s: Awaited<ReturnType<typeof stored>>) => boolean) =>
    eventually(() => stored(stack, id), ok)

  it('confirms on ItemHeld, learning price and owner; a redelivery of the same event changes nothing', async () => {
    const r = await reserve()
    const event = await emitItemEvent(items, 'ItemHeld', r.itemId, held(r.itemId, r.id, 900))
    const after = await settled(r.id, s => s.row?.status === 'CONFIRMED')
    expect(after.row).toMatchObject({ amount: 900, ownerId: owner.userId, version: 2 })
    expect(after.events).toEqual([
      { type: 'ReservationRequested', version: 1 },
      { type: 'ReservationConfirmed', version: 2 },
    ])

    await items.republish('item', event, randomUUID()) // same event id, new message: JetStream delivers it again
    // Events of one reservation are applied in stream order, so once a later one is handled, the redelivery was.
    const later = await emitItemEvent(items, 'ItemHoldRejected', r.itemId, {
      itemId: r.itemId,
      reservationId: r.id,
      reason: 'NOT_RENTABLE',
    })
    await eventually(() => handled(stack, later.id))
    expect(await stored(stack, r.id)).toEqual(after)
  })

  it('rejects on ItemHoldRejected, and a later ItemHeld does not overturn the decision', async () => {
    const r = await reserve()
    await emitItemEvent(
      items,
      'ItemHoldRejected',
      r.itemId,
      { itemId: r.itemId, reservationId: r.id, reason: 'NOT_RENTABLE' },
      0,
    )
    const rejected = await settled(r.id, s => s.row?.status === 'REJECTED')
    expect(rejected.row).toMatchObject({ rejectReason: 'NOT_RENTABLE', version: 2 })
    const late = await emitItemEvent(items, 'ItemHeld', r.itemId, held(r.itemId, r.id))
    await emitItemEvent(
      items,
      'ItemDeleted',
      r.itemId,
      { item: itemSnapshot(r.itemId, owner.userId, 500, { deleted: true }) },
      4,
    )
    await eventually(() => handled(stack, late.id))
    const after = await settled(r.id, s => s.row?.itemDeleted === true)
    expect(after.row).toMatchObject({ status: 'REJECTED', version: 3 })
    expect((await readReservation(stack, renter, r.id))?.item).toBeNull()
  })

  it('leaves a reservation cancelled while PENDING cancelled when the hold arrives', async () => {
    const r = await reserve()
    expect((await mutate(stack, renter, 'cancelReservation', r.id)).data?.r.status).toBe('CANCELLED')
    const late = await emitItemEvent(items, 'ItemHeld', r.itemId, held(r.itemId, r.id))
    await eventually(() => handled(stack, late.id))
    await emitItemEvent(
      items,
      'ItemDeleted',
      r.itemId,
      { item: itemSnapshot(r.itemId, owner.userId, 500, { deleted: true }) },
      3,
    )
    const after = await settled(r.id, s => s.row?.itemDeleted === true)
    expect(after.row).toMatchObject({ status: 'CANCELLED', amount: null })
    expect(after.events.map(e => e.type)).toEqual(['ReservationRequested', 'ReservationCancelled'])
  })

  it('learns nothing from ItemLent or ItemReturned: the reservation decides rentals itself', async () => {
    const r = await reserve()
    await emitItemEvent(items, 'ItemHeld', r.itemId, held(r.itemId, r.id))
    const confirmed = await settled(r.id, s => s.row?.status === 'CONFIRMED')
    await emitItemEvent(
      items,
      'ItemLent',
      r.itemId,
      { item: itemSnapshot(r.itemId, owner.userId, 500, { rentalStatus: 'RENTING' }), reservationId: r.id },
      3,
    )
    await emitItemEvent(
      items,
      'ItemReturned',
      r.itemId,
      {
        item: itemSnapshot(r.itemId, owner.userId, 500, { status: 'RENTABLE', rentalStatus: 'RETURNED' }),
        reservationId: r.id,
      },
      4,
    )
    // A later event of the same reservation, handled in order after them: then they were seen.
    const later = await emitItemEvent(items, 'ItemHoldRejected', r.itemId, {
      itemId: r.itemId,
      reservationId: r.id,
      reason: 'NOT_RENTABLE',
    })
    await eventually(() => handled(stack, later.id))
    expect(await stored(stack, r.id)).toEqual(confirmed)
  })
})
