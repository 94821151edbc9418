import { describe, expect, it } from '@jest/globals'
import { buildSchema, parse, validate } from 'graphql'
import { maxDepthRule } from './limits.js'

const schema = buildSchema(`
  type Query { reservation: Reservation }
  type Reservation { id: ID! payment: Payment }
  type Payment { id: ID! reservation: Reservation! }
`)
const errorsFor = (query: string, max: number) =>
  validate(schema, parse(query), [maxDepthRule(max)]).map(e => e.message)

describe('maxDepthRule', () => {
  it('accepts an operation at the limit and refuses one past it', () => {
    const three = '{ reservation { payment { id } } }'
    expect(errorsFor(three, 3)).toEqual([])
    expect(errorsFor(three, 2)).toEqual(['the operation is nested 3 levels deep; at most 2 are allowed'])
  })

  it('counts depth through fragments and inline fragments', () => {
    const query = `
      { reservation { ...R } }
      fragment R on Reservation { payment { ... on Payment { reservation { id } } } }`
    expect(errorsFor(query, 4)).toEqual([])
    expect(errorsFor(query, 3)).toHaveLength(1)
  })

  it('does not count introspection, so tools keep working', () => {
    expect(errorsFor('{ __schema { types { fields { type { ofType { ofType { name } } } } } } }', 1)).toEqual([])
  })

  it('survives a fragment cycle (graphql reports it separately)', () => {
    const query = '{ reservation { ...A } } fragment A on Reservation { payment { reservation { ...A } } }'
    expect(() => errorsFor(query, 10)).not.toThrow()
  })
})
