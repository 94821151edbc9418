import { describe, expect, it } from '@jest/globals'
import { inKeyOrder, updateIfUnchanged, type VersionedTable } from './rows.js'

describe('rows', () => {
  it('answers a batch in the order asked, null where a key has no row, a repeated key twice', () => {
    const rows = [
      { id: 'b', n: 2 },
      { id: 'a', n: 1 },
    ]
    expect(inKeyOrder(['a', 'x', 'b', 'a'], rows, r => r.id)).toEqual([rows[1], null, rows[0], rows[1]])
  })

  it('updates only at the version read, and bumps it', async () => {
    const stored = { id: 'r', version: 3, status: 'PENDING' }
    const table: VersionedTable<typeof stored, { status: string }> = {
      async updateManyAndReturn({ where, data }) {
        if (where.id !== stored.id || where.version !== stored.version) return []
        Object.assign(stored, { status: data.status, version: stored.version + data.version.increment })
        return [{ ...stored }]
      },
    }
    expect(await updateIfUnchanged(table, { id: 'r', version: 2 }, { status: 'CONFIRMED' })).toBeNull()
    expect(stored.status).toBe('PENDING')
    expect(await updateIfUnchanged(table, { id: 'r', version: 3 }, { status: 'CONFIRMED' })).toEqual({
      id: 'r',
      version: 4,
      status: 'CONFIRMED',
    })
  })
})
