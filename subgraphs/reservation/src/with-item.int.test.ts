// The saga with the real item subgraph: holds decided by it, exactly one of several concurrent
// reservations confirmed, and payment reaching the item so its owner can lend it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { errorCode, eventually, gql, Stack } from '../../../test/harness.js'
import { as, mutate, person, readReservation } from './testing.js'

describe('reservation saga with the item subgraph', () => {
  const stack = new Stack()
  const owner = person('Park', ['owner'])
  const renters = [person('Kim', ['renter']), person('Lee', ['renter']), person('Choi', ['renter'])]

  beforeAll(() => stack.start('item', 'reservation', 'payment'), 90_000)
  afterAll(() => stack.dispose())

  const registerItem = async (price: number): Promise<string> => {
    const res = await gql<{ registerItem: { id: string } }>(
      stack.url('item'),
      'mutation($i: RegisterItemInput!) { registerItem(input: $i) { id } }',
      { i: { name: 'Kayak', price } },
      undefined,
      as(owner),
    )
    return res.data!.registerItem.id
  }

  it('confirms exactly one of concurrent reservations, at the item’s price, and lets the owner lend it once paid', async () => {
    const itemId = await registerItem(4200)
    const reserved = await Promise.all(renters.map(renter => mutate(stack, renter, 'reserveItem', itemId)))
    expect(reserved.map(r => r.data?.r.status)).toEqual(['PENDING', 'PENDING', 'PENDING'])

    const decided = await eventually(
      () => Promise.all(renters.map((renter, i) => readReservation(stack, renter, reserved[i]!.data!.r.id))),
      all => all.every(r => r?.status === 'CONFIRMED' || r?.status === 'REJECTED'),
    )
    expect(decided.filter(r => r?.status === 'CONFIRMED')).toHaveLength(1)
    const winner = decided.findIndex(r => r?.status === 'CONFIRMED')
    const renter = renters[winner]!
    const id = decided[winner]!.id
    // The owner learned from ItemHeld may see it too.
    expect((await readReservation(stack, owner, id))?.status).toBe('CONFIRMED')

    const lend = () =>
      gql(
        stack.url('item'),
        'mutation($r: ID!) { lendItem(reservationId: $r) { rentalStatus } }',
        { r: id },
        undefined,
        as(owner),
      )
    expect(errorCode(await lend())).toBe('CONFLICT') // not paid yet
    expect((await mutate(stack, renter, 'payReservation', id)).data?.r.paymentStatus).toBe('PAID')
    const lent = await eventually(lend, res => res.data?.lendItem?.rentalStatus === 'RENTING')
    expect(lent.errors).toBeUndefined()
    await eventually(
      () => readReservation(stack, renter, id),
      r => r?.rentalStatus === 'RENTING',
    )
    expect(errorCode(await mutate(stack, renter, 'cancelReservation', id))).toBe('CONFLICT')
  })
})
