import { describe, expect, it } from '@jest/globals'
import { thrownCode } from '../../../test/thrown.js'
import {
  assertDeletable,
  assertLendable,
  assertOwner,
  assertReturnable,
  holdRefusal,
  AREA_MAX_LENGTH,
  NAME_MAX_LENGTH,
  NEAR_MAX_RADIUS_KM,
  validateNear,
  validateNewItem,
  type ItemState,
} from './rules.js'

const PRICE_MAX = 1_000_000

const item = (over: Partial<ItemState> = {}): ItemState => ({
  ownerId: 'owner-1',
  status: 'RENTABLE',
  rentalStatus: 'NOT_RENTING',
  holdReservationId: null,
  deletedAt: null,
  ...over,
})

describe('validateNewItem', () => {
  it('trims the name and keeps the price', () => {
    expect(validateNewItem({ name: '  Camera ', price: 100 }, PRICE_MAX)).toEqual({
      name: 'Camera',
      price: 100,
      location: null,
      area: null,
    })
  })
  it('keeps a location and a trimmed area, an empty area is none', () => {
    const v = validateNewItem(
      { name: 'a', price: 1, location: { lat: 37.5665, lng: 126.978 }, area: ' 중구 ' },
      PRICE_MAX,
    )
    expect(v).toMatchObject({ location: { lat: 37.5665, lng: 126.978 }, area: '중구' })
    expect(validateNewItem({ name: 'a', price: 1, area: '  ' }, PRICE_MAX).area).toBeNull()
    expect(validateNewItem({ name: 'a', price: 1, area: '가'.repeat(AREA_MAX_LENGTH) }, PRICE_MAX).area).toHaveLength(
      100,
    )
  })
  it('accepts the poles and the antimeridian', () => {
    for (const location of [
      { lat: 90, lng: 180 },
      { lat: -90, lng: -180 },
    ])
      expect(validateNewItem({ name: 'a', price: 1, location }, PRICE_MAX).location).toEqual(location)
  })
  it.each([
    ['lat above 90', { lat: 90.000001, lng: 0 }],
    ['lat below -90', { lat: -91, lng: 0 }],
    ['lng above 180', { lat: 0, lng: 180.5 }],
    ['lng below -180', { lat: 0, lng: -181 }],
    ['an infinite lat', { lat: Number.POSITIVE_INFINITY, lng: 0 }],
  ])('refuses a location with %s', (_, location) => {
    expect(thrownCode(() => validateNewItem({ name: 'a', price: 1, location }, PRICE_MAX))).toBe('BAD_USER_INPUT')
  })
  it.each([
    ['over-long', 'x'.repeat(AREA_MAX_LENGTH + 1)],
    ['with a NUL', 'Mapo\u0000'],
    ['with a control character', 'Ma\u0007po'],
  ])('refuses an area %s', (_, area) => {
    expect(thrownCode(() => validateNewItem({ name: 'a', price: 1, area }, PRICE_MAX))).toBe('BAD_USER_INPUT')
  })
  it.each([
    ['empty name', { name: '   ', price: 1 }],
    ['over-long name', { name: 'x'.repeat(NAME_MAX_LENGTH + 1), price: 1 }],
    ['negative price', { name: 'a', price: -1 }],
    ['price over the maximum', { name: 'a', price: PRICE_MAX + 1 }],
    ['fractional price', { name: 'a', price: 1.5 }],
  ])('refuses %s', (_, input) => {
    expect(thrownCode(() => validateNewItem(input, PRICE_MAX))).toBe('BAD_USER_INPUT')
  })
  it('accepts the bounds', () => {
    expect(validateNewItem({ name: 'x'.repeat(NAME_MAX_LENGTH), price: PRICE_MAX }, PRICE_MAX).price).toBe(PRICE_MAX)
    expect(validateNewItem({ name: 'x', price: 0 }, PRICE_MAX).price).toBe(0)
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
  it('lends only to the reservation that holds the item, once', () => {
    const held = item({ status: 'NOT_RENTABLE', holdReservationId: 'r1' })
    expect(thrownCode(() => assertLendable(held, 'r1'))).toBeUndefined()
    expect(thrownCode(() => assertLendable(held, 'r2'))).toBe('CONFLICT')
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

describe('validateNear', () => {
  const near = { lat: 37.5665, lng: 126.978 }
  it('defaults first to 50 and no status filter', () => {
    expect(validateNear({ near, radiusKm: 2 })).toEqual({ near, radiusKm: 2, status: null, first: 50 })
  })
  it('accepts the largest radius', () => {
    expect(validateNear({ near, radiusKm: NEAR_MAX_RADIUS_KM, first: 200 }).radiusKm).toBe(50)
  })
  it.each([
    ['a zero radius', { near, radiusKm: 0 }],
    ['a negative radius', { near, radiusKm: -1 }],
    ['a radius over 50 km', { near, radiusKm: 50.001 }],
    ['first 0', { near, radiusKm: 2, first: 0 }],
    ['first over 200', { near, radiusKm: 2, first: 201 }],
    ['a point off the globe', { near: { lat: 91, lng: 0 }, radiusKm: 2 }],
  ])('refuses %s', (_, args) => {
    expect(thrownCode(() => validateNear(args))).toBe('BAD_USER_INPUT')
  })
})
