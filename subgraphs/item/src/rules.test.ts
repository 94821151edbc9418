import { describe, expect, it } from '@jest/globals'
import { thrownCode } from '../../../test/thrown.js'
import {
  assertDeletable,
  assertLendable,
  assertOwner,
  assertReturnable,
  holdRefusal,
  NAME_MAX_LENGTH,
  PRICE_MAX,
  validateNewItem,
  type ItemState,
} from './rules.js'

const item = (over: Partial<ItemState> = {}): ItemState => ({
  ownerId: 'owner-1',
  status: 'RENTABLE',
  rentalStatus: 'NOT_RENTING',
  holdReservationId: null,
  holdPaid: false,
  deletedAt: null,
  ...over,
})

describe('validateNewItem', () => {
  it('trims the name and keeps the price', () => {
    expect(validateNewItem({ name: '  Camera ', price: 100 })).toEqual({ name: 'Camera', price: 100 })
  })
  it.each([
    ['empty name', { name: '   ', price: 1 }],
    ['over-long name', { name: 'x'.repeat(NAME_MAX_LENGTH + 1), price: 1 }],
    ['negative price', { name: 'a', price: -1 }],
    ['price over the maximum', { name: 'a', price: PRICE_MAX + 1 }],
    ['fractional price', { name: 'a', price: 1.5 }],
  ])('refuses %s', (_, input) => {
    expect(thrownCode(() => validateNewItem(input))).toBe('BAD_USER_INPUT')
  })
  it('accepts the bounds', () => {
    expect(validateNewItem({ name: 'x'.repeat(NAME_MAX_LENGTH), price: PRICE_MAX }).price).toBe(PRICE_MAX)
    expect(validateNewItem({ name: 'x', price: 0 }).price).toBe(0)
  })
})

describe('item rules', () => {
  it('only the owner may act on an item', () => {
    expect(thrownCode(() => assertOwner(item(), 'someone-else'))).toBe('FORBIDDEN')
    expect(thrownCode(() => assertOwner(item(), 'owner-1'))).toBeUndefined()
  })
  it('a reserved or rented item cannot be deleted', () => {
    expect(thrownCode(() => assertDeletable(item({ status: 'NOT_RENTABLE', holdReservationId: 'r' })))).toBe('CONFLICT')
    expect(thrownCode(() => assertDeletable(item({ status: 'NOT_RENTABLE', rentalStatus: 'RENTING' })))).toBe(
      'CONFLICT',
    )
    expect(thrownCode(() => assertDeletable(item({ rentalStatus: 'RETURNED' })))).toBeUndefined()
  })
  it('lends only to the paid reservation that holds the item', () => {
    const held = item({ status: 'NOT_RENTABLE', holdReservationId: 'r1', holdPaid: true })
    expect(thrownCode(() => assertLendable(held, 'r1'))).toBeUndefined()
    expect(thrownCode(() => assertLendable(held, 'r2'))).toBe('CONFLICT')
    expect(thrownCode(() => assertLendable({ ...held, holdPaid: false }, 'r1'))).toBe('CONFLICT')
    expect(thrownCode(() => assertLendable({ ...held, rentalStatus: 'RENTING' }, 'r1'))).toBe('CONFLICT')
  })
  it('returns only a rented item', () => {
    expect(thrownCode(() => assertReturnable(item()))).toBe('CONFLICT')
    expect(thrownCode(() => assertReturnable(item({ rentalStatus: 'RENTING' })))).toBeUndefined()
  })
  it('says why a reservation cannot hold the item', () => {
    expect(holdRefusal(null)).toBe('NOT_FOUND')
    expect(holdRefusal(item({ deletedAt: new Date() }))).toBe('DELETED')
    expect(holdRefusal(item({ status: 'NOT_RENTABLE' }))).toBe('NOT_RENTABLE')
    expect(holdRefusal(item())).toBeNull()
  })
})
