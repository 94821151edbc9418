import { describe, expect, it } from '@jest/globals'
import { newId } from './ids.js'
import { newestFirst, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, readPage } from './paging.js'
import { thrownCode } from '../../test/thrown.js'

describe('readPage', () => {
  it('defaults to the contract’s 50 and accepts 1..200 with an id as after', () => {
    expect(readPage({})).toEqual({ first: PAGE_SIZE_DEFAULT, after: null })
    expect(readPage({ first: null, after: null })).toEqual({ first: 50, after: null })
    const id = newId()
    expect(readPage({ first: 1, after: id.toUpperCase() })).toEqual({ first: 1, after: id })
    expect(readPage({ first: PAGE_SIZE_MAX }).first).toBe(200)
  })

  it('refuses a size outside 1..200 and an after that is not an id, as BAD_USER_INPUT', () => {
    for (const first of [0, -1, 201, 1e9, 1.5, Number.NaN])
      expect(thrownCode(() => readPage({ first }))).toBe('BAD_USER_INPUT')
    for (const after of ['', 'x', '1 OR 1=1', `${newId()}\u0000`])
      expect(thrownCode(() => readPage({ after }))).toBe('BAD_USER_INPUT')
  })
})

describe('newId', () => {
  it('is a version 7, variant 1 UUID carrying the time', () => {
    const id = newId(Date.UTC(2026, 11, 1))
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })

  it('sorts by creation, inside one millisecond and when the clock steps back', () => {
    const now = Date.now() + 10_000
    const ids = [newId(now), ...Array.from({ length: 5000 }, () => newId(now)), newId(now - 5000), newId(now + 1)]
    expect([...ids].sort()).toEqual(ids)
    expect(new Set(ids).size).toBe(ids.length)
    expect(Number.parseInt(ids[0]!.replace(/-/g, '').slice(0, 12), 16)).toBe(now)
  })
})

describe('newestFirst', () => {
  it('reads a page below `after`, id descending, `first` rows', () => {
    expect(newestFirst({ first: 10, after: null }, { customerId: 'c' })).toEqual({
      where: { customerId: 'c' },
      orderBy: { id: 'desc' },
      take: 10,
    })
    expect(newestFirst({ first: 5, after: 'x' }, {}, 'itemId')).toEqual({
      where: { itemId: { lt: 'x' } },
      orderBy: { itemId: 'desc' },
      take: 5,
    })
  })
})
