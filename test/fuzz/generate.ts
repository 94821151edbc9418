// What the fuzz suite sends: fast-check arbitraries for whole HTTP requests to the router. Most are
// operations generated from the public API schema (every root field, random selections and
// aliases, arguments inline or as variables) with random and hostile values: huge, unicode,
// control characters, lone surrogates, wrong types, nulls. The rest are shapes meant to hurt:
// alias, fragment, depth, directive and token bombs, many mutations in one, batches, bad JSON,
// bodies that are not JSON or not UTF-8, odd methods and GET queries. Each comes with a token
// chosen among none, valid ones (owner, renter, both), expired, wrongly signed, without exp, and
// garbage.
import fc from 'fast-check'
import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
} from 'graphql'

/** One request as the runner sends it. */
export interface FuzzRequest {
  kind: string
  method: 'GET' | 'POST' | 'PUT' | 'OPTIONS' | 'DELETE'
  /** Appended to /graphql (GET parameters). */
  search?: string
  headers: Record<string, string>
  body?: string | Uint8Array
  /** Set for mutations: the runner checks that a refused one changed no row. */
  mutation: boolean
}

/** Tokens the runner mints for the stack under test (see fuzz.ts). */
export interface FuzzTokens {
  owner: string
  renter: string
  both: string
  expired: string
  wrongSecret: string
  noExpiry: string
  algNone: string
}

const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u0007\u001b[31m',
  '\uD800',
  'x\uDFFFy',
  '\u202Eevil',
  '\uFEFF',
  '🏃‍♀️🇰🇷',
  '근대마켓',
  'ｆｕｌｌ',
  '\r\n\t',
  "'; DROP TABLE items; --",
  '{"$ne": null}',
  '../../etc/passwd',
  '%00',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log-injection payload, meant literally
  '${jndi:ldap://x}',
  '<script>alert(1)</script>',
  'NaN',
  '-0',
  '1e309',
]

const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 300_000 }).map(n => 'x'.repeat(n)) },
  { weight: 2, arbitrary: fc.uuid() },
)

const anyInt: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: -5, max: 250 }),
  fc.integer(),
  fc.constantFrom(0, 1, 50, 200, 201, -1, 2 ** 31, -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER),
)

/** A JSON value of the wrong kind for wherever it is put. */
const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  hostileString,
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
)

/** A value for an input type: right most of the time, hostile inside, sometimes of the wrong kind. */
function valueFor(type: GraphQLInputType, ids: readonly string[], depth = 0): fc.Arbitrary<unknown> {
  const wrong = { weight: 1, arbitrary: wrongValue }
  if (isNonNullType(type)) return valueFor(type.ofType, ids, depth)
  if (isListType(type))
    return fc.oneof({ weight: 4, arbitrary: fc.array(valueFor(type.ofType, ids, depth + 1), { maxLength: 3 }) }, wrong)
  if (isInputObjectType(type)) {
    if (depth > 3) return fc.constant({})
    const fields = Object.values(type.getFields())
    const record = Object.fromEntries(fields.map(f => [f.name, valueFor(f.type, ids, depth + 1)]))
    return fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record(record, { requiredKeys: fields.filter(f => isNonNullType(f.type)).map(f => f.name) }),
      },
      { weight: 1, arbitrary: fc.record({ ...record, extra: hostileString }) },
      wrong,
    )
  }
  if (isEnumType(type))
    return fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...type.getValues().map(v => v.name)) }, wrong)
  switch (type.name) {
    case 'ID':
      return fc.oneof(
        { weight: 4, arbitrary: ids.length ? fc.constantFrom(...ids) : fc.uuid() },
        { weight: 2, arbitrary: fc.uuid() },
        { weight: 3, arbitrary: hostileString },
        wrong,
      )
    case 'Int':
      return fc.oneof({ weight: 6, arbitrary: anyInt }, wrong)
    case 'Float':
      return fc.oneof(
        { weight: 6, arbitrary: fc.oneof(fc.double({ noNaN: true }), fc.double({ min: -200, max: 200 })) },
        wrong,
      )
    case 'Boolean':
      return fc.oneof({ weight: 6, arbitrary: fc.boolean() }, wrong)
    default:
      return fc.oneof({ weight: 6, arbitrary: hostileString }, wrong)
  }
}

/** A JSON value written as a GraphQL literal (enum names bare, object keys unquoted). */
function literal(value: unknown, type: GraphQLInputType): string {
  const named = getNamedType(type)
  if (value === null || value === undefined) return 'null'
  if (Array.isArray(value))
    return `[${value.map(v => literal(v, isListType(unwrapNonNull(type)) ? (unwrapNonNull(type) as { ofType: GraphQLInputType }).ofType : type)).join(', ')}]`
  if (typeof value === 'object') {
    const fields = isInputObjectType(named) ? named.getFields() : {}
    return `{ ${Object.entries(value)
      .filter(([k]) => /^[_A-Za-z][_0-9A-Za-z]*$/.test(k))
      .map(([k, v]) => `${k}: ${literal(v, fields[k]?.type ?? named)}`)
      .join(', ')} }`
  }
  if (typeof value === 'string' && isEnumType(named) && /^[_A-Za-z][_0-9A-Za-z]*$/.test(value)) return value
  if (typeof value === 'number' && !Number.isFinite(value)) return '0'
  return JSON.stringify(value)
}

const unwrapNonNull = (type: GraphQLInputType): GraphQLInputType => (isNonNullType(type) ? type.ofType : type)

interface Built {
  text: string
  variables: Record<string, unknown>
  definitions: string[]
}

/** Arguments of one field: required ones (usually), optional ones sometimes, inline or as variables. */
function argumentsFor(field: GraphQLField<unknown, unknown>, ids: readonly string[]): fc.Arbitrary<Built> {
  if (field.args.length === 0) return fc.constant({ text: '', variables: {}, definitions: [] })
  const one = (arg: GraphQLArgument) =>
    fc
      .record({
        // Required arguments are almost always there (missing ones only test validation).
        present: fc.integer({ min: 0, max: 19 }).map(n => (isNonNullType(arg.type) ? n !== 0 : n % 2 === 0)),
        value: valueFor(arg.type, ids),
        asVariable: fc.boolean(),
        name: fc.integer({ min: 0, max: 1_000_000 }),
      })
      .map(({ present, value, asVariable, name }): Built | undefined => {
        if (!present) return undefined
        if (!asVariable) return { text: `${arg.name}: ${literal(value, arg.type)}`, variables: {}, definitions: [] }
        const variable = `v${name}`
        return {
          text: `${arg.name}: $${variable}`,
          variables: { [variable]: value },
          definitions: [`$${variable}: ${arg.type.toString()}`],
        }
      })
  return fc.tuple(...field.args.map(one)).map(parts => {
    const used = parts.filter((p): p is Built => p !== undefined)
    return {
      text: used.length ? `(${used.map(p => p.text).join(', ')})` : '',
      variables: Object.assign({}, ...used.map(p => p.variables)),
      definitions: used.flatMap(p => p.definitions),
    }
  })
}

/** A selection set on an object type, `depth` levels at most. */
function selectionFor(type: GraphQLObjectType, ids: readonly string[], depth: number): fc.Arbitrary<Built> {
  const fields = Object.values(type.getFields())
  const leaves = fields.filter(f => isLeafType(getNamedType(f.type)))
  const objects = depth > 0 ? fields.filter(f => isObjectType(getNamedType(f.type))) : []
  const fieldArb = (field: GraphQLField<unknown, unknown>): fc.Arbitrary<Built> => {
    const named = getNamedType(field.type) as GraphQLNamedType
    const sub = isObjectType(named) ? selectionFor(named, ids, depth - 1) : fc.constant(undefined)
    return fc
      .record({
        alias: fc.option(fc.constantFrom('a', 'b', 'c', 'x1', 'x2'), { freq: 5 }),
        args: argumentsFor(field, ids),
        sub,
      })
      .map(({ alias, args, sub }) => ({
        text: `${alias ? `${alias}: ` : ''}${field.name}${args.text}${sub ? ` { ${sub.text} }` : ''}`,
        variables: { ...args.variables, ...(sub?.variables ?? {}) },
        definitions: [...args.definitions, ...(sub?.definitions ?? [])],
      }))
  }
  const candidates = [...leaves, ...objects]
  return fc
    .uniqueArray(fc.constantFrom(...candidates), { minLength: 1, maxLength: 4 })
    .chain(chosen => fc.tuple(...chosen.map(fieldArb)))
    .map(parts => ({
      text: parts.map(p => p.text).join(' '),
      variables: Object.assign({}, ...parts.map(p => p.variables)),
      definitions: parts.flatMap(p => p.definitions),
    }))
}

/** An operation on one to three root fields of the query or mutation type. */
function schemaOperation(schema: GraphQLSchema, ids: readonly string[], root: 'query' | 'mutation') {
  const type = (root === 'query' ? schema.getQueryType() : schema.getMutationType()) as GraphQLObjectType
  return fc
    .uniqueArray(fc.constantFrom(...Object.values(type.getFields())), {
      minLength: 1,
      maxLength: root === 'query' ? 3 : 2,
    })
    .chain(fields =>
      fc.tuple(
        ...fields.map(field => {
          const named = getNamedType(field.type)
          return fc
            .record({
              alias: fc.option(fc.constantFrom('first', 'second', 'third'), { freq: 3 }),
              args: argumentsFor(field, ids),
              sub: isObjectType(named) ? selectionFor(named, ids, 3) : fc.constant(undefined),
            })
            .map(({ alias, args, sub }) => ({
              text: `${alias ? `${alias}: ` : ''}${field.name}${args.text}${sub ? ` { ${sub.text} }` : ''}`,
              variables: { ...args.variables, ...(sub?.variables ?? {}) },
              definitions: [...args.definitions, ...(sub?.definitions ?? [])],
            }))
        }),
      ),
    )
    .map(parts => {
      const definitions = [...new Set(parts.flatMap(p => p.definitions))]
      const header = definitions.length ? `${root} Fuzz(${definitions.join(', ')})` : root
      return {
        query: `${header} { ${parts.map(p => p.text).join(' ')} }`,
        variables: Object.assign({}, ...parts.map(p => p.variables)) as Record<string, unknown>,
      }
    })
}

const repeat = (n: number, f: (i: number) => string, sep = ' ') => Array.from({ length: n }, (_, i) => f(i)).join(sep)

/** Documents built to exhaust a server that has no limits. */
const bombs: fc.Arbitrary<{ kind: string; query: string; mutation: boolean }> = fc.oneof(
  fc.integer({ min: 31, max: 3000 }).map(n => ({
    kind: 'alias bomb',
    query: `{ ${repeat(n, i => `a${i}: items { id name }`)} }`,
    mutation: false,
  })),
  fc.integer({ min: 8, max: 30 }).map(levels => ({
    kind: 'fragment bomb',
    query: `{ ...F0 } ${repeat(levels, i => (i + 1 < levels ? `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }` : `fragment F${i} on Query { items { id } }`))}`,
    mutation: false,
  })),
  fc.integer({ min: 13, max: 200 }).map(depth => ({
    kind: 'deep nesting',
    query: `{ reservations { ${'payment { reservation { '.repeat(depth)}id${' } }'.repeat(depth)} } }`,
    mutation: false,
  })),
  fc.integer({ min: 31, max: 500 }).map(n => ({
    kind: 'directive bomb',
    query: `{ items { ${repeat(n, () => 'id @include(if: true)')} } }`,
    mutation: false,
  })),
  fc.integer({ min: 2001, max: 60_000 }).map(n => ({
    kind: 'token bomb',
    query: `{ items { ${'id '.repeat(n)} } }`,
    mutation: false,
  })),
  fc.integer({ min: 4, max: 60 }).map(n => ({
    kind: 'mutation bomb',
    query: `mutation { ${repeat(n, i => `m${i}: registerItem(input: { name: "bomb ${i}", price: 1 }) { id }`)} }`,
    mutation: true,
  })),
  fc.integer({ min: 1, max: 20 }).map(n => ({
    kind: 'cost bomb',
    query: `{ ${repeat(n, i => `p${i}: items(first: 200) { id } q${i}: itemInfos(first: 200) { itemId item { id } }`)} }`,
    mutation: false,
  })),
  fc.integer({ min: 1, max: 50 }).map(n => ({
    kind: 'unknown fields',
    query: `{ ${repeat(n, i => `nope${i} { id }`)} __schema { types { name } } }`,
    mutation: false,
  })),
)

const authorization = (tokens: FuzzTokens): fc.Arbitrary<Record<string, string>> =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constant({}) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(tokens.owner, tokens.renter, tokens.both).map(t => ({ authorization: `Bearer ${t}` })),
    },
    {
      weight: 3,
      arbitrary: fc
        .constantFrom(
          `Bearer ${tokens.expired}`,
          `Bearer ${tokens.wrongSecret}`,
          `Bearer ${tokens.noExpiry}`,
          `Bearer ${tokens.algNone}`,
          'Bearer not.a.jwt',
          'Basic dTE6cHc=',
          'Bearer ',
          `Bearer ${'a'.repeat(4000)}.${'b'.repeat(4000)}.c`,
        )
        .map(authorization => ({ authorization })),
    },
  )

const JSON_HEADERS = { 'content-type': 'application/json' }

/** Every kind of request the suite sends, weighted towards schema operations. */
export function fuzzRequests(
  schema: GraphQLSchema,
  ids: readonly string[],
  tokens: FuzzTokens,
): fc.Arbitrary<FuzzRequest> {
  const auth = authorization(tokens)
  const post = (kind: string, body: unknown, mutation: boolean) =>
    auth.map(
      (a): FuzzRequest => ({
        kind,
        method: 'POST',
        headers: { ...JSON_HEADERS, ...a },
        body: JSON.stringify(body),
        mutation,
      }),
    )
  const query = schemaOperation(schema, ids, 'query').chain(op => post('schema query', op, false))
  const mutation = schemaOperation(schema, ids, 'mutation').chain(op => post('schema mutation', op, true))
  const bomb = bombs.chain(b => post(b.kind, { query: b.query }, b.mutation))
  const batch = fc
    .array(schemaOperation(schema, ids, 'query'), { minLength: 2, maxLength: 30 })
    .chain(ops => post('batch', ops, false))
  const mutationBatch = fc
    .array(schemaOperation(schema, ids, 'mutation'), { minLength: 2, maxLength: 10 })
    .chain(ops => post('mutation batch', ops, true))
  const badJson = fc
    .oneof(
      fc.string({ maxLength: 200 }),
      fc.constantFrom(
        '{',
        '{"query": ',
        '[',
        'null',
        '0',
        '"query"',
        '{"query": {"a": 1}}',
        '{"query": "{ items { id } }", "variables": "x"}',
        '{"query": "{ items { id } }", "operationName": 5}',
        '{"query": "{ items { id } }", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "00"}}}',
        '{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38"}}}',
        '{"query": "query A { items { id } } query B { items { id } }"}',
        '{"query": "{ items { id } }", "operationName": "Nope"}',
        '[[]]',
        '{"query": "\\u0000"}',
      ),
    )
    .chain(body =>
      auth.map(
        (a): FuzzRequest => ({
          kind: 'bad JSON',
          method: 'POST',
          headers: { ...JSON_HEADERS, ...a },
          body,
          mutation: body.includes('mutation'),
        }),
      ),
    )
  const notUtf8 = fc.uint8Array({ minLength: 1, maxLength: 200 }).map(
    (bytes): FuzzRequest => ({
      kind: 'bytes',
      method: 'POST',
      headers: JSON_HEADERS,
      body: Uint8Array.from([0x7b, 0xff, 0xfe, ...bytes]),
      mutation: false,
    }),
  )
  const otherContentType = fc
    .tuple(
      fc.constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/graphql',
        '',
      ),
      schemaOperation(schema, ids, 'query'),
    )
    .map(
      ([type, op]): FuzzRequest => ({
        kind: 'content type',
        method: 'POST',
        headers: type ? { 'content-type': type } : {},
        body: JSON.stringify(op),
        mutation: false,
      }),
    )
  const get = fc
    .tuple(
      fc.oneof(schemaOperation(schema, ids, 'query'), schemaOperation(schema, ids, 'mutation')),
      fc.boolean(),
      fc.constantFrom('application/json', 'application/graphql-response+json', 'text/html', '*/*'),
    )
    .map(
      ([op, preflight, accept]): FuzzRequest => ({
        kind: 'GET',
        method: 'GET',
        search: `?${new URLSearchParams({ query: op.query, variables: JSON.stringify(op.variables) })}`,
        headers: { accept, ...(preflight ? { 'apollo-require-preflight': 'true' } : {}) },
        mutation: op.query.startsWith('mutation'),
      }),
    )
  const oddMethod = fc.constantFrom('PUT', 'DELETE', 'OPTIONS').map(
    (method): FuzzRequest => ({
      kind: 'method',
      method: method as FuzzRequest['method'],
      headers: { ...JSON_HEADERS, origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      body: method === 'OPTIONS' ? undefined : '{"query":"{ items { id } }"}',
      mutation: false,
    }),
  )
  return fc.oneof(
    { weight: 40, arbitrary: query },
    { weight: 25, arbitrary: mutation },
    { weight: 10, arbitrary: bomb },
    { weight: 3, arbitrary: batch },
    { weight: 2, arbitrary: mutationBatch },
    { weight: 6, arbitrary: badJson },
    { weight: 2, arbitrary: notUtf8 },
    { weight: 3, arbitrary: otherContentType },
    { weight: 6, arbitrary: get },
    { weight: 2, arbitrary: oddMethod },
  )
}
