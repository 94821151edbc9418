// The reservation subgraph with the real payment subgraph, PostgreSQL, SQLite and NATS; the item
// subgraph's part (ItemHeld) is played by publishing its events into the stack's stream.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { errorCode, eventually, gql, Stack } from '../../../test/harness.js'
import {
  as,
  emitItemEvent,
  itemSnapshot,
  mutate,
  paymentsOf,
  person,
  readReservation,
  type ReservationView,
  stored,
} from './testing.js'
import { TestBus } from '../../../test/bus.js'

const MAX_AMOUNT = 100_000

describe('reservation subgraph: reserving, paying, cancelling', () => {
  // A low breaker volume: if declines counted as failures, the decline test would open the circuit.
  const stack = new Stack({
    payment: { PAYMENT_MAX_AMOUNT: String(MAX_AMOUNT) },
    reservation: { PAYMENT_BREAKER_VOLUME: '2' },
  })
  let items: TestBus
  const renter = person('Kim', ['renter'])
  const owner = person('Park', ['owner'])
  const stranger = person('Lee', ['renter', 'owner'])

  beforeAll(async () => {
    await stack.start('reservation', 'payment')
    items = await TestBus.open(stack)
  }, 90_000)
  afterAll(async () => {
    await items?.close()
    await stack.dispose()
  })

  /** A reservation the item subgraph has held (CONFIRMED) at `price`. */
  async function confirmedReservation(price = 700): Promise<ReservationView> {
    const itemId = randomUUID()
    const reserved = (await mutate(stack, renter, 'reserveItem', itemId)).data!.r
    await emitItemEvent(items, 'ItemHeld', itemId, {
      item: itemSnapshot(itemId, owner.userId, price),
      reservationId: reserved.id,
      customerId: renter.userId,
      customerName: renter.name,
    })
    return eventually(
      async () => (await readReservation(stack, renter, reserved.id))!,
      r => r?.status === 'CONFIRMED',
    )
  }

  /**
   * Runs `act`, expects `code`, and shows the reservation's row and events are exactly as before.
   * A call payment answered "no" recorded its intent and dropped it: only the row's version moved.
   */
  async function refusedWithoutChange(id: string, code: string, act: () => Promise<unknown>): Promise<void> {
    const before = await stored(stack, id)
    expect(errorCode((await act()) as Parameters<typeof errorCode>[0])).toBe(code)
    const after = await stored(stack, id)
    if (code !== 'PAYMENT_DECLINED') return expect(after).toEqual(before)
    const { version: _v, updatedAt: _u, ...row } = after.row ?? {}
    const { version: _bv, updatedAt: _bu, ...rowBefore } = before.row ?? {}
    expect({ row, events: after.events }).toEqual({ row: rowBefore, events: before.events })
  }

  it('reserves at once as PENDING, for renters only, with a well-formed item id', async () => {
    const itemId = randomUUID()
    expect(errorCode(await mutate(stack, null, 'reserveItem', itemId))).toBe('UNAUTHENTICATED')
    expect(errorCode(await mutate(stack, owner, 'reserveItem', itemId))).toBe('FORBIDDEN')
    expect(errorCode(await mutate(stack, renter, 'reserveItem', 'item-1'))).toBe('BAD_USER_INPUT')
    const mine = await gql(stack.url('reservation'), '{ reservations { id } }', {}, undefined, as(renter))
    expect(mine.data?.reservations).toEqual([])

    const res = await mutate(stack, renter, 'reserveItem', itemId)
    expect(res.data?.r).toMatchObject({
      itemId,
      item: { id: itemId },
      customerName: 'Kim',
      status: 'PENDING',
      paymentStatus: 'NOT_PAID',
      rentalStatus: 'NOT_RENTING',
    })
    expect((await stored(stack, res.data!.r.id)).events).toEqual([{ type: 'ReservationRequested', version: 1 }])
  })

  it('shows a reservation to its customer and the item’s owner only', async () => {
    const r = await confirmedReservation()
    expect((await readReservation(stack, owner, r.id))?.id).toBe(r.id)
    expect(await readReservation(stack, stranger, r.id)).toBeNull()
    expect(await readReservation(stack, null, r.id)).toBeNull()
    expect(await readReservation(stack, renter, randomUUID())).toBeNull()
    const malformed = await gql(stack.url('reservation'), '{ reservation(id: "x") { id } }', {}, undefined, as(renter))
    expect(errorCode(malformed)).toBe('BAD_USER_INPUT')
    const refs = await gql<{ _entities: ({ id: string } | null)[] }>(
      stack.url('reservation'),
      'query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Reservation { id status } } }',
      { reps: [{ __typename: 'Reservation', id: r.id }] },
      undefined,
      as(stranger),
    )
    expect(refs.data?._entities).toEqual([null])
    const newestFirst = await gql<{ reservations: { id: string }[] }>(
      stack.url('reservation'),
      '{ reservations { id } }',
      {},
      undefined,
      as(renter),
    )
    expect(newestFirst.data?.reservations[0]?.id).toBe(r.id)
    expect(
      (await gql(stack.url('reservation'), '{ reservations { id } }', {}, undefined, as(null))).data?.reservations,
    ).toEqual([])
  })

  it('pays a CONFIRMED reservation once, cancels the payment, pays again, then cancels with a refund', async () => {
    const pending = (await mutate(stack, renter, 'reserveItem', randomUUID())).data!.r
    await refusedWithoutChange(pending.id, 'CONFLICT', () => mutate(stack, renter, 'payReservation', pending.id))

    const r = await confirmedReservation(700)
    expect(errorCode(await mutate(stack, renter, 'payReservation', randomUUID()))).toBe('NOT_FOUND')
    await refusedWithoutChange(r.id, 'FORBIDDEN', () => mutate(stack, stranger, 'payReservation', r.id))
    await refusedWithoutChange(r.id, 'UNAUTHENTICATED', () => mutate(stack, null, 'payReservation', r.id))
    await refusedWithoutChange(r.id, 'CONFLICT', () => mutate(stack, renter, 'cancelPayment', r.id))

    expect((await mutate(stack, renter, 'payReservation', r.id)).data?.r).toMatchObject({
      status: 'CONFIRMED',
      paymentStatus: 'PAID',
    })
    const [payment] = (await paymentsOf(stack, renter)).filter(p => p.reservation.id === r.id)
    expect(payment).toMatchObject({ amount: 700, status: 'PAID' })
    await refusedWithoutChange(r.id, 'CONFLICT', () => mutate(stack, renter, 'payReservation', r.id))

    expect((await mutate(stack, renter, 'cancelPayment', r.id)).data?.r).toMatchObject({
      status: 'CONFIRMED',
      paymentStatus: 'CANCELLED',
    })
    expect((await paymentsOf(stack, renter)).filter(p => p.reservation.id === r.id)).toEqual([
      { ...payment, status: 'CANCELLED' },
    ])
    expect((await mutate(stack, renter, 'payReservation', r.id)).data?.r.paymentStatus).toBe('PAID')

    await refusedWithoutChange(r.id, 'FORBIDDEN', () => mutate(stack, stranger, 'cancelReservation', r.id))
    expect((await mutate(stack, renter, 'cancelReservation', r.id)).data?.r).toMatchObject({
      status: 'CANCELLED',
      paymentStatus: 'CANCELLED',
    })
    expect((await paymentsOf(stack, renter)).filter(p => p.reservation.id === r.id)).toEqual([
      { ...payment, status: 'CANCELLED' },
    ])
    await refusedWithoutChange(r.id, 'CONFLICT', () => mutate(stack, renter, 'cancelReservation', r.id))
    await refusedWithoutChange(r.id, 'CONFLICT', () => mutate(stack, renter, 'payReservation', r.id))

    expect((await stored(stack, r.id)).events).toEqual([
      { type: 'ReservationRequested', version: 1 },
      { type: 'ReservationConfirmed', version: 2 },
      // Each payment call first records its intent (a version of its own, no event), then settles.
      { type: 'ReservationPaid', version: 4 },
      { type: 'ReservationPaymentCancelled', version: 6 },
      { type: 'ReservationPaid', version: 8 },
      { type: 'ReservationCancelled', version: 10 },
    ])
  })

  it('answers PAYMENT_DECLINED when payment refuses, changes nothing, and keeps the circuit closed', async () => {
    const r = await confirmedReservation(MAX_AMOUNT + 1)
    for (let i = 0; i < 4; i++)
      await refusedWithoutChange(r.id, 'PAYMENT_DECLINED', () => mutate(stack, renter, 'payReservation', r.id))
    expect((await paymentsOf(stack, renter)).some(p => p.reservation.id === r.id)).toBe(false)
    const other = await confirmedReservation(10)
    expect((await mutate(stack, renter, 'payReservation', other.id)).data?.r.paymentStatus).toBe('PAID')
  })

  it('refuses to cancel once the item is rented', async () => {
    const r = await confirmedReservation()
    await mutate(stack, renter, 'payReservation', r.id)
    // The item subgraph asks the reservation, the arbiter, to decide the lend.
    const lent = await gql(
      stack.url('reservation'),
      'mutation($r: ID!, $i: ID!) { decideLend(reservationId: $r, itemId: $i) { rentalStatus } }',
      { r: r.id, i: r.itemId },
      undefined,
      as(owner),
    )
    expect(lent.data?.decideLend).toEqual({ rentalStatus: 'RENTING' })
    expect((await readReservation(stack, renter, r.id))?.rentalStatus).toBe('RENTING')
    await refusedWithoutChange(r.id, 'CONFLICT', () => mutate(stack, renter, 'cancelReservation', r.id))
    await refusedWithoutChange(r.id, 'CONFLICT', () => mutate(stack, renter, 'cancelPayment', r.id))
    expect((await paymentsOf(stack, renter)).find(p => p.reservation.id === r.id)?.status).toBe('PAID')
  })
})
