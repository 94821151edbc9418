import { describe, expect, it } from '@jest/globals'
import { buildSchema, parse, validate } from 'graphql'
import {
  DEFAULT_OPERATION_LIMITS,
  checkOperationLimits,
  costVariables,
  estimateCost,
  maxDepthRule,
  parseWithinLimits,
  type OperationLimits,
} from './limits.js'

const schema = buildSchema(`
  type Query {
    reservation: Reservation
    reservations(first: Int = 50): [Reservation!]!
    items(first: Int = 50): [Item!]!
    tags: [String!]!
  }
  type Mutation { registerItem(name: String!): Item! }
  type Item { id: ID! name: String! reservations(first: Int): [Reservation!]! }
  type Reservation { id: ID! item: Item payment: Payment }
  type Payment { id: ID! reservation: Reservation! }
`)
const errorsFor = (query: string, max: number) =>
  validate(schema, parse(query), [maxDepthRule(max)]).map(e => e.message)

const limits = (over: Partial<OperationLimits> = {}): OperationLimits => ({ ...DEFAULT_OPERATION_LIMITS, ...over })
const refusals = (query: string, over: Partial<OperationLimits> = {}, variables?: Record<string, unknown>) =>
  checkOperationLimits(schema, parse(query), limits(over), { variables }).map(e => [
    e.extensions.code,
    e.extensions.limit,
  ])

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

describe('checkOperationLimits', () => {
  const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: items(first: 1) { id }`).join(' ')} }`

  it('accepts an ordinary page query', () => {
    expect(refusals('{ items(first: 200) { id name reservations(first: 5) { id } } }')).toEqual([])
  })

  it('refuses more aliases than MAX_QUERY_ALIASES, counted through fragments', () => {
    expect(refusals(aliases(5), { maxAliases: 5 })).toEqual([])
    expect(refusals(aliases(6), { maxAliases: 5 })).toEqual([['QUERY_TOO_COMPLEX', 'MAX_QUERY_ALIASES']])
    const viaFragment = '{ ...F } fragment F on Query { a: items { id } b: items { id } c: tags }'
    expect(refusals(viaFragment, { maxAliases: 2 })).toEqual([['QUERY_TOO_COMPLEX', 'MAX_QUERY_ALIASES']])
  })

  it('refuses more root fields than MAX_QUERY_ROOT_FIELDS, and fewer mutations than that', () => {
    expect(refusals('{ items { id } tags reservation { id } }', { maxRootFields: 2 })).toEqual([
      ['QUERY_TOO_COMPLEX', 'MAX_QUERY_ROOT_FIELDS'],
    ])
    expect(refusals('{ __typename items { id } tags }', { maxRootFields: 2 })).toEqual([])
    const mutations = 'mutation { a: registerItem(name: "a") { id } b: registerItem(name: "b") { id } }'
    expect(refusals(mutations, { maxMutationRootFields: 1 })).toEqual([
      ['QUERY_TOO_COMPLEX', 'MAX_MUTATION_ROOT_FIELDS'],
    ])
  })

  it('refuses more directives than MAX_QUERY_DIRECTIVES', () => {
    const query = '{ tags @skip(if: false) @include(if: true) items @skip(if: false) { id } }'
    expect(refusals(query, { maxDirectives: 3 })).toEqual([])
    expect(refusals(query, { maxDirectives: 2 })).toEqual([['QUERY_TOO_COMPLEX', 'MAX_QUERY_DIRECTIVES']])
  })

  it('refuses depth past MAX_QUERY_DEPTH with QUERY_TOO_COMPLEX', () => {
    expect(refusals('{ reservation { payment { reservation { id } } } }', { maxDepth: 2 })).toEqual([
      ['QUERY_TOO_COMPLEX', 'MAX_QUERY_DEPTH'],
    ])
  })

  it('counts the tokens of a parsed document', () => {
    expect(refusals('{ items { id name } }', { maxTokens: 50 })).toEqual([])
    expect(refusals(aliases(20), { maxTokens: 50, maxAliases: 100 })).toEqual([
      ['QUERY_TOO_COMPLEX', 'MAX_QUERY_TOKENS'],
    ])
  })

  it('refuses a cost over MAX_QUERY_COST, with `first` taken from the variables', () => {
    const query = 'query ($n: Int) { items(first: $n) { id } }'
    expect(refusals(query, { maxCost: 100 }, { n: 100 })).toEqual([])
    expect(refusals(query, { maxCost: 100 }, { n: 101 })).toEqual([['QUERY_TOO_COMPLEX', 'MAX_QUERY_COST']])
  })
})

describe('parseWithinLimits', () => {
  it('stops at MAX_QUERY_TOKENS with QUERY_TOO_COMPLEX and throws syntax errors as graphql does', () => {
    expect(() => parseWithinLimits('{ a b c }', { maxTokens: 5 })).not.toThrow()
    expect(() => parseWithinLimits('{ a b c d e f }', { maxTokens: 5 })).toThrow(
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'QUERY_TOO_COMPLEX' }) }),
    )
    expect(() => parseWithinLimits('{ a', { maxTokens: 5 })).toThrow(/Syntax Error/)
  })
})

describe('estimateCost', () => {
  const cost = (query: string, variables?: Record<string, unknown>) =>
    estimateCost(schema, parse(query), { listAssumedSize: 50 }, { variables })

  it('charges a list its `first` times what each element selects, and leaves cost nothing', () => {
    expect(cost('{ tags }')).toBe(0)
    expect(cost('{ items(first: 10) { id name } }')).toBe(10)
    expect(cost('{ reservation { id item { id } } }')).toBe(2)
    expect(cost('{ reservations(first: 10) { item { id } payment { id } } }')).toBe(30)
  })

  it('multiplies nested lists and assumes QUERY_COST_LIST_SIZE without a `first`', () => {
    expect(cost('{ items(first: 10) { reservations(first: 20) { id } } }')).toBe(10 * (1 + 20))
    expect(cost('{ items(first: 10) { reservations { id } } }')).toBe(10 * (1 + 50))
    expect(cost('{ items { id } }')).toBe(50)
  })

  it('does not let a negative or absurd `first` lower the cost', () => {
    expect(cost('{ items(first: -100000) { id } }')).toBe(50)
    expect(cost('query ($n: Int) { items(first: $n) { id } }', { n: 1_000_000 })).toBe(1_000_000)
  })

  it('sums aliases, so the alias bomb of the issue is far over budget', () => {
    const bomb = `{ ${Array.from({ length: 2000 }, (_, i) => `a${i}: items { id }`).join(' ')} }`
    expect(cost(bomb)).toBe(2000 * 50)
  })

  it('charges introspection nothing', () => {
    expect(cost('{ __schema { types { fields { name } } } }')).toBe(0)
  })

  it('answers one document again for other page sizes and directives, not with the first answer', () => {
    const document = parse(
      'query ($n: Int, $id: ID!, $more: Boolean!) { reservation(id: $id) { id } items(first: $n) { id reservations @include(if: $more) { id } } }',
    )
    const again = (variables: Record<string, unknown>) =>
      estimateCost(schema, document, { listAssumedSize: 50 }, { variables })
    expect(again({ n: 10, id: 'a', more: false })).toBe(11)
    expect(again({ n: 10, id: 'b', more: false })).toBe(11)
    expect(again({ n: 20, id: 'a', more: false })).toBe(21)
    expect(again({ n: 20, id: 'a', more: true })).toBe(1 + 20 * (1 + 50))
    expect(costVariables(document)).toEqual(['more', 'n'])
  })

  it('is infinite for a fragment bomb past the node cap', () => {
    // Each fragment spreads the next twice: 2^16 paths to `tags` in a few lines.
    const levels = 16
    const fragments = Array.from({ length: levels }, (_, i) =>
      i + 1 < levels ? `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }` : `fragment F${i} on Query { tags }`,
    )
    expect(cost(`{ ...F0 } ${fragments.join(' ')}`)).toBe(Number.POSITIVE_INFINITY)
  })
})
