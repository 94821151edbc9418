import { describe, expect, it } from '@jest/globals'
import { maySeePrivate, withoutPrivate } from './privacy.js'

const info = {
  itemId: 'i1',
  ownerId: 'owner-1',
  reservationId: 'r1',
  customerId: 'renter-1',
  customerName: 'YoungEun',
  paymentStatus: 'PAID',
  reservationStatus: 'CONFIRMED',
}

describe('ItemInfo private fields', () => {
  it('shows them to the owner and to the reservation customer only', () => {
    expect(maySeePrivate(info, 'owner-1')).toBe(true)
    expect(maySeePrivate(info, 'renter-1')).toBe(true)
    expect(maySeePrivate(info, 'renter-2')).toBe(false)
    expect(maySeePrivate(info, null)).toBe(false)
    expect(maySeePrivate(info, '')).toBe(false)
  })

  it('does not let an empty customer match an empty user', () => {
    expect(maySeePrivate({ ownerId: 'owner-1', customerId: null }, 'renter-1')).toBe(false)
  })

  it('nulls exactly the private fields and keeps the rest', () => {
    expect(withoutPrivate(info)).toEqual({
      itemId: 'i1',
      ownerId: 'owner-1',
      reservationId: null,
      customerId: null,
      customerName: null,
      paymentStatus: null,
      reservationStatus: 'CONFIRMED',
    })
    expect(info.customerId).toBe('renter-1')
  })
})
