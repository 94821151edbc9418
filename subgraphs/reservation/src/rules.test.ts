import { describe, expect, it } from '@jest/globals'
import { thrownCode } from '../../../test/thrown.js'
import {
  advanceRental,
  assertCancellable,
  assertCustomer,
  assertPayable,
  assertPaymentCancellable,
  canSee,
  confirmsHold,
  rejectsHold,
  type ReservationState,
} from './rules.js'

const confirmed: ReservationState = {
  customerId: 'renter',
  ownerId: 'owner',
  status: 'CONFIRMED',
  paymentStatus: 'NOT_PAID',
  rentalStatus: 'NOT_RENTING',
  amount: 700,
}

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
    expect(canSee(confirmed, 'renter')).toBe(true)
    expect(canSee(confirmed, 'owner')).toBe(true)
    expect(canSee(confirmed, 'someone')).toBe(false)
    expect(canSee(confirmed, null)).toBe(false)
    expect(canSee({ ...confirmed, ownerId: null }, 'owner')).toBe(false)
  })

  it('decides a hold only while PENDING', () => {
    expect(confirmsHold({ ...confirmed, status: 'PENDING' })).toBe(true)
    expect(rejectsHold({ ...confirmed, status: 'PENDING' })).toBe(true)
    for (const status of ['CONFIRMED', 'REJECTED', 'CANCELLED'] as const) {
      expect(confirmsHold({ ...confirmed, status })).toBe(false)
      expect(rejectsHold({ ...confirmed, status })).toBe(false)
    }
  })

  it('moves the rental status forward only', () => {
    expect(advanceRental('NOT_RENTING', 'RENTING')).toBe('RENTING')
    expect(advanceRental('RENTING', 'RETURNED')).toBe('RETURNED')
    expect(advanceRental('NOT_RENTING', 'RETURNED')).toBe('RETURNED')
    expect(advanceRental('RETURNED', 'RENTING')).toBeNull()
    expect(advanceRental('RENTING', 'RENTING')).toBeNull()
  })
})
