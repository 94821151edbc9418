import { describe, expect, it } from '@jest/globals'
import type { Caller } from '@gdmarket/platform/identity'
import { thrownCode } from '../../../test/thrown.js'
import {
  assertCancellable,
  assertCustomer,
  assertPayable,
  assertPaymentCancellable,
  canSee,
  confirmsHold,
  lendDecision,
  rejectsHold,
  returnDecision,
  type ReservationState,
} from './rules.js'

const confirmed: ReservationState = {
  itemId: 'item-1',
  customerId: 'renter',
  ownerId: 'owner',
  status: 'CONFIRMED',
  paymentStatus: 'NOT_PAID',
  rentalStatus: 'NOT_RENTING',
  amount: 700,
  paymentIntent: null,
}
const paid: ReservationState = { ...confirmed, paymentStatus: 'PAID' }
const rental = { itemId: 'item-1', ownerId: 'owner' }

describe('reservation rules', () => {
  it('lets only the customer act on a reservation', () => {
    expect(thrownCode(() => assertCustomer(confirmed, 'renter'))).toBeUndefined()
    expect(thrownCode(() => assertCustomer(confirmed, 'owner'))).toBe('FORBIDDEN')
  })

  it('cancels pending, confirmed and paid reservations, not rented or final ones', () => {
    expect(thrownCode(() => assertCancellable({ ...confirmed, status: 'PENDING' }))).toBeUndefined()
    expect(thrownCode(() => assertCancellable({ ...confirmed, paymentStatus: 'PAID' }))).toBeUndefined()
    expect(thrownCode(() => assertCancellable({ ...confirmed, rentalStatus: 'RENTING' }))).toBe('CONFLICT')
    expect(thrownCode(() => assertCancellable({ ...confirmed, rentalStatus: 'RETURNED' }))).toBe('CONFLICT')
    expect(thrownCode(() => assertCancellable({ ...confirmed, status: 'CANCELLED' }))).toBe('CONFLICT')
    expect(thrownCode(() => assertCancellable({ ...confirmed, status: 'REJECTED' }))).toBe('CONFLICT')
  })

  it('pays a CONFIRMED unpaid or refunded reservation, for its amount', () => {
    expect(assertPayable(confirmed)).toBe(700)
    expect(assertPayable({ ...confirmed, paymentStatus: 'CANCELLED' })).toBe(700)
  })

  it('refuses to pay twice, before confirmation, after rental or without a price', () => {
    expect(thrownCode(() => assertPayable({ ...confirmed, paymentStatus: 'PAID' }))).toBe('CONFLICT')
    for (const status of ['PENDING', 'REJECTED', 'CANCELLED'] as const)
      expect(thrownCode(() => assertPayable({ ...confirmed, status }))).toBe('CONFLICT')
    expect(thrownCode(() => assertPayable({ ...confirmed, rentalStatus: 'RETURNED' }))).toBe('CONFLICT')
    expect(thrownCode(() => assertPayable({ ...confirmed, amount: null }))).toBe('CONFLICT')
  })

  it('cancels a payment only while paid and not lent', () => {
    expect(thrownCode(() => assertPaymentCancellable({ ...confirmed, paymentStatus: 'PAID' }))).toBeUndefined()
    expect(thrownCode(() => assertPaymentCancellable(confirmed))).toBe('CONFLICT')
    expect(thrownCode(() => assertPaymentCancellable({ ...confirmed, paymentStatus: 'CANCELLED' }))).toBe('CONFLICT')
    expect(
      thrownCode(() => assertPaymentCancellable({ ...confirmed, paymentStatus: 'PAID', rentalStatus: 'RENTING' })),
    ).toBe('CONFLICT')
  })

  it('shows a reservation to its customer and the item owner only', () => {
    const as = (userId: string): Caller => ({ userId, name: userId, roles: ['owner', 'renter'] })
    expect(canSee(confirmed, as('renter'))).toBe(true)
    expect(canSee(confirmed, as('owner'))).toBe(true)
    expect(canSee(confirmed, as('someone'))).toBe(false)
    expect(canSee(confirmed, null)).toBe(false)
    expect(canSee({ ...confirmed, ownerId: null }, as('owner'))).toBe(false)
  })

  it('decides a hold only while PENDING', () => {
    expect(confirmsHold({ ...confirmed, status: 'PENDING' })).toBe(true)
    expect(rejectsHold({ ...confirmed, status: 'PENDING' })).toBe(true)
    for (const status of ['CONFIRMED', 'REJECTED', 'CANCELLED'] as const) {
      expect(confirmsHold({ ...confirmed, status })).toBe(false)
      expect(rejectsHold({ ...confirmed, status })).toBe(false)
    }
  })

  it('starts nothing while a payment call is being settled', () => {
    for (const paymentIntent of ['CHARGE', 'REFUND'] as const) {
      expect(thrownCode(() => assertPayable({ ...confirmed, paymentIntent }))).toBe('CONFLICT')
      expect(thrownCode(() => assertPaymentCancellable({ ...paid, paymentIntent }))).toBe('CONFLICT')
      expect(thrownCode(() => assertCancellable({ ...paid, paymentIntent }))).toBe('CONFLICT')
      expect(thrownCode(() => lendDecision({ ...paid, paymentIntent }, rental))).toBe('CONFLICT')
    }
  })

  it('lends a CONFIRMED, PAID reservation of this item to its owner only; a lent one again is "already"', () => {
    expect(lendDecision(paid, rental)).toBe('lend')
    expect(lendDecision({ ...paid, rentalStatus: 'RENTING' }, rental)).toBe('already')
    expect(thrownCode(() => lendDecision(confirmed, rental))).toBe('CONFLICT')
    expect(thrownCode(() => lendDecision({ ...paid, paymentStatus: 'CANCELLED' }, rental))).toBe('CONFLICT')
    expect(thrownCode(() => lendDecision({ ...paid, status: 'CANCELLED' }, rental))).toBe('CONFLICT')
    expect(thrownCode(() => lendDecision({ ...paid, rentalStatus: 'RETURNED' }, rental))).toBe('CONFLICT')
    expect(thrownCode(() => lendDecision(paid, { ...rental, itemId: 'item-2' }))).toBe('CONFLICT')
    expect(thrownCode(() => lendDecision(paid, { ...rental, ownerId: 'someone' }))).toBe('FORBIDDEN')
  })

  it('takes back only a lent reservation; a returned one again is "already"', () => {
    expect(returnDecision({ ...paid, rentalStatus: 'RENTING' }, rental)).toBe('return')
    expect(returnDecision({ ...paid, rentalStatus: 'RETURNED' }, rental)).toBe('already')
    expect(thrownCode(() => returnDecision(paid, rental))).toBe('CONFLICT')
    expect(thrownCode(() => returnDecision({ ...paid, rentalStatus: 'RENTING' }, { ...rental, ownerId: 'x' }))).toBe(
      'FORBIDDEN',
    )
  })
})
