import { describe, expect, it } from '@jest/globals'
import { AppError } from '@gdmarket/platform/errors'
import { assertDeletable, assertLendable, assertOwner, assertReturnable, holdRefusal, NAME_MAX_LENGTH, PRICE_MAX, validateNewItem, type ItemState } from './rules.js'

const item = (over: Partial<ItemState> = {}): ItemState => ({
  ownerId: 'owner-1',
  status: 'RENTABLE',
  rentalStatus: 'NOT_RENTING',
  holdReservationId: null,
  holdPaid: false,
  deletedAt: null,
  ...over,
})

const code = (fn: () => unknown) => {
  try {
    fn()
  } catch (e) {
    return (e as AppError).code
  }
  return 'none'
}

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
    expect(code(() => validateNewItem(input))).toBe('BAD_USER_INPUT')
  })
  it('accepts the bounds', () => {
    expect(validateNewItem({ name: 'x'.repeat(NAME_MAX_LENGTH), price: PRICE_MAX }).price).toBe(PRICE_MAX)
    expect(validateNewItem({ name: 'x', price: 0 }).price).toBe(0)
  })
})

describe('item rules', () => {
  it('only the owner may act on an item', () => {
    expect(code(() => assertOwner(item(), 'someone-else'))).toBe('FORBIDDEN')
    expect(code(() => assertOwner(item(), 'owner-1'))).toBe('none')
  })
  it('a reserved or rented item cannot be deleted', () => {
    expect(code(() => assertDeletable(item({ status: 'NOT_RENTABLE', holdReservationId: 'r' })))).toBe('CONFLICT')
    expect(code(() => assertDeletable(item({ status: 'NOT_RENTABLE', rentalStatus: 'RENTING' })))).toBe('CONFLICT')
    expect(code(() => assertDeletable(item({ rentalStatus: 'RETURNED' })))).toBe('none')
  })
  it('lends only to the paid reservation that holds the item', () => {
    const held = item({ status: 'NOT_RENTABLE', holdReservationId: 'r1', holdPaid: true })
    expect(code(() => assertLendable(held, 'r1'))).toBe('none')
    expect(code(() => assertLendable(held, 'r2'))).toBe('CONFLICT')
    expect(code(() => assertLendable({ ...held, holdPaid: false }, 'r1'))).toBe('CONFLICT')
    expect(code(() => assertLendable({ ...held, rentalStatus: 'RENTING' }, 'r1'))).toBe('CONFLICT')
  })
  it('returns only a rented item', () => {
    expect(code(() => assertReturnable(item()))).toBe('CONFLICT')
    expect(code(() => assertReturnable(item({ rentalStatus: 'RENTING' })))).toBe('none')
  })
  it('says why a reservation cannot hold the item', () => {
    expect(holdRefusal(null)).toBe('NOT_FOUND')
    expect(holdRefusal(item({ deletedAt: new Date() }))).toBe('DELETED')
    expect(holdRefusal(item({ status: 'NOT_RENTABLE' }))).toBe('NOT_RENTABLE')
    expect(holdRefusal(item())).toBeNull()
  })
})
