// The authorization matrix, through the real router: every operation of the public API (and the
// fields only some callers may see) against every caller, generated from the one table below.
// A caller is a relation to the thing acted on (the item's owner, the reservation's customer, a
// stranger, or nobody: no token) times the roles its token carries (none, owner, renter, both):
// the same person may come with different roles, since roles are claims of the token. Each
// operation's row says which role it needs and which relations may do it; `expected()` derives
// every cell from that, and each cell is asserted (a refused mutation also changes nothing).
// The private fields of ItemInfo have rows of their own.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createClient } from 'graphql-ws'
import WebSocket from 'ws'
import { errorCode, eventually, gql, type GqlResult, Stack, token } from '../harness.js'

type Role = 'owner' | 'renter'
type Relation = 'owner' | 'customer' | 'stranger' | 'nobody'
type Fixture = 'item' | 'confirmed' | 'paid' | 'lent'
// biome-ignore lint/suspicious/noExplicitAny: GraphQL answers of many shapes, read by the table's own checks
type Data = Record<string, any>

interface Target {
  itemId: string
  reservationId: string
}

interface Operation {
  name: string
  /** A subscription's cell is its first event: `current: true` sends the ItemInfo as it is now. */
  kind: 'query' | 'mutation' | 'subscription'
  /** The role the operation needs, if any. */
  role?: Role
  /** Who may: these relations (with the role), or anyone. */
  who: Relation[] | 'anyone'
  /** What an allowed caller needs to exist (a fresh one per allowed mutation). */
  fixture: Fixture
  document: string
  variables: (t: Target) => Record<string, unknown>
  /** Queries: whether the answer shows the target to this caller. Mutations: whether it was applied. */
  shows: (data: Data, t: Target) => boolean
}

const RES = 'id status paymentStatus rentalStatus'

// The one table. A query nobody may see answers without error and does not show the target.
const OPERATIONS: Operation[] = [
  {
    name: 'items',
    kind: 'query',
    who: 'anyone',
    fixture: 'item',
    document: '{ r: items(first: 200) { id } }',
    variables: () => ({}),
    shows: (d, t) => d.r.some((i: { id: string }) => i.id === t.itemId),
  },
  {
    name: 'item',
    kind: 'query',
    who: 'anyone',
    fixture: 'item',
    document: 'query($id: ID!) { r: item(id: $id) { id ownerId } }',
    variables: t => ({ id: t.itemId }),
    shows: (d, t) => d.r?.id === t.itemId,
  },
  {
    name: 'itemsNear',
    kind: 'query',
    who: 'anyone',
    fixture: 'item',
    document: '{ r: itemsNear(near: { lat: 37.5665, lng: 126.978 }, radiusKm: 50) { item { id } } }',
    variables: () => ({}),
    shows: d => Array.isArray(d.r),
  },
  {
    name: 'itemInfos',
    kind: 'query',
    who: 'anyone',
    fixture: 'item',
    document: 'query($o: ID) { r: itemInfos(ownerId: $o) { itemId } }',
    variables: () => ({ o: OWNER }),
    shows: (d, t) => d.r.some((i: { itemId: string }) => i.itemId === t.itemId),
  },
  {
    name: 'itemInfo',
    kind: 'query',
    who: 'anyone',
    fixture: 'item',
    document: 'query($id: ID!) { r: itemInfo(itemId: $id) { itemId ownerId } }',
    variables: t => ({ id: t.itemId }),
    shows: (d, t) => d.r?.itemId === t.itemId,
  },
  {
    name: 'reservations',
    kind: 'query',
    who: ['customer'],
    fixture: 'paid',
    document: '{ r: reservations(first: 200) { id } }',
    variables: () => ({}),
    shows: (d, t) => d.r.some((r: { id: string }) => r.id === t.reservationId),
  },
  {
    name: 'reservation',
    kind: 'query',
    who: ['owner', 'customer'],
    fixture: 'paid',
    document: `query($id: ID!) { r: reservation(id: $id) { ${RES} customerId item { id } } }`,
    variables: t => ({ id: t.reservationId }),
    shows: (d, t) => d.r?.id === t.reservationId,
  },
  {
    name: 'Reservation.payment',
    kind: 'query',
    who: ['customer'],
    fixture: 'paid',
    document: 'query($id: ID!) { r: reservation(id: $id) { id payment { id amount status } } }',
    variables: t => ({ id: t.reservationId }),
    shows: d => d.r?.payment?.status === 'PAID',
  },
  {
    name: 'payments',
    kind: 'query',
    who: ['customer'],
    fixture: 'paid',
    document: '{ r: payments(first: 200) { id amount reservation { id } } }',
    variables: () => ({}),
    shows: (d, t) => d.r.some((p: { reservation: { id: string } }) => p.reservation.id === t.reservationId),
  },
  {
    name: 'registerItem',
    kind: 'mutation',
    role: 'owner',
    who: 'anyone',
    fixture: 'item',
    document: 'mutation { r: registerItem(input: { name: "Lamp", price: 5 }) { id status } }',
    variables: () => ({}),
    shows: d => d.r?.status === 'RENTABLE',
  },
  {
    name: 'deleteItem',
    kind: 'mutation',
    role: 'owner',
    who: ['owner'],
    fixture: 'item',
    document: 'mutation($id: ID!) { r: deleteItem(id: $id) { id } }',
    variables: t => ({ id: t.itemId }),
    shows: (d, t) => d.r?.id === t.itemId,
  },
  {
    name: 'reserveItem',
    kind: 'mutation',
    role: 'renter',
    who: 'anyone',
    fixture: 'item',
    document: 'mutation($id: ID!) { r: reserveItem(itemId: $id) { id status } }',
    variables: t => ({ id: t.itemId }),
    shows: d => d.r?.status === 'PENDING',
  },
  {
    name: 'cancelReservation',
    kind: 'mutation',
    who: ['customer'],
    fixture: 'confirmed',
    document: `mutation($id: ID!) { r: cancelReservation(id: $id) { ${RES} } }`,
    variables: t => ({ id: t.reservationId }),
    shows: d => d.r?.status === 'CANCELLED',
  },
  {
    name: 'payReservation',
    kind: 'mutation',
    who: ['customer'],
    fixture: 'confirmed',
    document: `mutation($id: ID!) { r: payReservation(id: $id) { ${RES} } }`,
    variables: t => ({ id: t.reservationId }),
    shows: d => d.r?.paymentStatus === 'PAID',
  },
  {
    name: 'cancelPayment',
    kind: 'mutation',
    who: ['customer'],
    fixture: 'paid',
    document: `mutation($id: ID!) { r: cancelPayment(id: $id) { ${RES} } }`,
    variables: t => ({ id: t.reservationId }),
    shows: d => d.r?.paymentStatus === 'CANCELLED',
  },
  {
    name: 'lendItem',
    kind: 'mutation',
    role: 'owner',
    who: ['owner'],
    fixture: 'paid',
    document: 'mutation($id: ID!) { r: lendItem(reservationId: $id) { id rentalStatus } }',
    variables: t => ({ id: t.reservationId }),
    shows: d => d.r?.rentalStatus === 'RENTING',
  },
  {
    name: 'returnItem',
    kind: 'mutation',
    role: 'owner',
    who: ['owner'],
    fixture: 'lent',
    document: 'mutation($id: ID!) { r: returnItem(itemId: $id) { id rentalStatus status } }',
    variables: t => ({ id: t.itemId }),
    shows: d => d.r?.rentalStatus === 'RETURNED',
  },
]

// The contract's private fields of ItemInfo: the item's owner and that reservation's customer see
// them, everyone else gets null; asked through both queries that return an ItemInfo.
const PRIVATE_FIELDS = ['reservationId', 'customerId', 'customerName', 'paymentStatus'] as const
for (const field of PRIVATE_FIELDS) {
  OPERATIONS.push(
    {
      name: `itemInfo.${field}`,
      kind: 'query',
      who: ['owner', 'customer'],
      fixture: 'paid',
      document: `query($id: ID!) { r: itemInfo(itemId: $id) { itemId ${field} } }`,
      variables: t => ({ id: t.itemId }),
      shows: d => d.r?.[field] != null,
    },
    {
      name: `itemInfos.${field}`,
      kind: 'query',
      who: ['owner', 'customer'],
      fixture: 'paid',
      document: `query($o: ID) { r: itemInfos(ownerId: $o, first: 200) { itemId ${field} } }`,
      variables: () => ({ o: OWNER }),
      shows: (d, t) => d.r.some((i: Data) => i.itemId === t.itemId && i[field] != null),
    },
  )
}

// The same fields pushed by itemInfoChanged: a signed-in non-party gets null, and an anonymous
// socket may not ask for them at all (UNAUTHENTICATED); the public fields are anyone's.
OPERATIONS.push({
  name: 'itemInfoChanged',
  kind: 'subscription',
  who: 'anyone',
  fixture: 'item',
  document: 'subscription($id: ID) { r: itemInfoChanged(itemId: $id, current: true) { itemId itemName } }',
  variables: t => ({ id: t.itemId }),
  shows: (d, t) => d.r?.itemId === t.itemId,
})
for (const field of PRIVATE_FIELDS)
  OPERATIONS.push({
    name: `itemInfoChanged.${field}`,
    kind: 'subscription',
    who: ['owner', 'customer'],
    fixture: 'paid',
    document: `subscription($id: ID) { r: itemInfoChanged(itemId: $id, current: true) { itemId ${field} } }`,
    variables: t => ({ id: t.itemId }),
    shows: d => d.r?.[field] != null,
  })

const ROLE_SETS: Role[][] = [[], ['owner'], ['renter'], ['owner', 'renter']]
const OWNER = 'authz-owner'
const USER_IDS: Record<Exclude<Relation, 'nobody'>, string> = {
  owner: OWNER,
  customer: 'authz-customer',
  stranger: 'authz-stranger',
}

interface Persona {
  relation: Relation
  roles: Role[]
  label: string
}
const CALLERS: Persona[] = [
  { relation: 'nobody', roles: [], label: 'anonymous' },
  ...(['owner', 'customer', 'stranger'] as const).flatMap(relation =>
    ROLE_SETS.map(roles => ({ relation, roles, label: `${relation} [${roles.join(',') || 'no role'}]` })),
  ),
]

type Outcome = 'allowed' | 'hidden' | 'UNAUTHENTICATED' | 'FORBIDDEN'

/**
 * Every cell, from the table: no token → UNAUTHENTICATED for a mutation (and for a subscription to
 * private fields); then the role; then the relation.
 */
function expected(op: Operation, caller: Persona): Outcome {
  const needsToken = op.kind === 'mutation' || (op.kind === 'subscription' && op.who !== 'anyone')
  if (caller.relation === 'nobody' && needsToken) return 'UNAUTHENTICATED'
  if (op.role && !caller.roles.includes(op.role)) return 'FORBIDDEN'
  if (op.who === 'anyone' || op.who.includes(caller.relation)) return 'allowed'
  return op.kind === 'mutation' ? 'FORBIDDEN' : 'hidden'
}

// Not about rate limits or payment's deadline: neither may turn a cell into a timing accident.
const stack = new Stack({
  router: { RATE_LIMIT_ENABLED: '0' },
  reservation: { PAYMENT_TIMEOUT_MS: '10000', RECONCILE_AFTER_MS: '11000' },
})
const tokens = new Map<string, string>()
async function bearer(caller: Persona): Promise<string | undefined> {
  if (caller.relation === 'nobody') return undefined
  const key = `${caller.relation}:${caller.roles.join(',')}`
  if (!tokens.has(key)) tokens.set(key, await token(USER_IDS[caller.relation], caller.relation, caller.roles))
  return tokens.get(key)
}
const as = (relation: Exclude<Relation, 'nobody'>, roles: Role[]) =>
  bearer({ relation, roles, label: '' }) as Promise<string>
const api = (query: string, variables: Record<string, unknown>, t?: string) =>
  gql(stack.url('router'), query, variables, t)

/** Asks `op` as a client would: over HTTP, or for a subscription its first event over WebSocket. */
async function ask(op: Operation, t: Target, bearerToken: string | undefined): Promise<GqlResult> {
  if (op.kind !== 'subscription') return api(op.document, op.variables(t), bearerToken)
  const client = createClient({
    url: stack.url('router').replace('http', 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: bearerToken ? { Authorization: `Bearer ${bearerToken}` } : {},
  })
  try {
    return await new Promise<GqlResult>((resolve, reject) => {
      client.subscribe(
        { query: op.document, variables: op.variables(t) },
        {
          next: r => resolve({ status: 101, data: r.data as Data, errors: r.errors as GqlResult['errors'] }),
          error: e => (Array.isArray(e) ? resolve({ status: 101, errors: e }) : reject(e)),
          complete: () => reject(new Error(`${op.name}: completed without an event`)),
        },
      )
    })
  } finally {
    await client.dispose()
  }
}

async function must(query: string, variables: Record<string, unknown>, t: string): Promise<Data> {
  const r = await api(query, variables, t)
  if (r.errors) throw new Error(`${query}: ${JSON.stringify(r.errors)}`)
  return r.data!
}

/** How long a saga hop may take on a machine that other test suites keep busy. */
const SAGA = { timeoutMs: 60_000 }

/** A fixture in the state an operation needs, built through the router as its owner and customer would. */
async function make(fixture: Fixture): Promise<Target> {
  const owner = await as('owner', ['owner'])
  const customer = await as('customer', ['renter'])
  const itemId = (await must('mutation { r: registerItem(input: { name: "Tent", price: 300 }) { id } }', {}, owner)).r
    .id as string
  if (fixture === 'item') return { itemId, reservationId: '' }
  const reservationId = (
    await must('mutation($id: ID!) { r: reserveItem(itemId: $id) { id } }', { id: itemId }, customer)
  ).r.id as string
  await eventually(
    () => must('query($id: ID!) { r: reservation(id: $id) { status } }', { id: reservationId }, customer),
    d => d.r.status === 'CONFIRMED',
    SAGA,
  )
  if (fixture === 'confirmed') return { itemId, reservationId }
  await must('mutation($id: ID!) { r: payReservation(id: $id) { id } }', { id: reservationId }, customer)
  // The item learns of the payment by event; until then lending is a CONFLICT.
  await eventually(
    () => must('query($id: ID!) { r: itemInfo(itemId: $id) { paymentStatus } }', { id: itemId }, owner),
    d => d.r?.paymentStatus === 'PAID',
    SAGA,
  )
  if (fixture === 'paid') return { itemId, reservationId }
  await eventually(
    () => api('mutation($id: ID!) { r: lendItem(reservationId: $id) { rentalStatus } }', { id: reservationId }, owner),
    r => r.data?.r?.rentalStatus === 'RENTING',
    SAGA,
  )
  // Settled: the reservation has heard of the lending too, so nothing moves under the cells.
  await eventually(
    () => must('query($id: ID!) { r: reservation(id: $id) { rentalStatus } }', { id: reservationId }, customer),
    d => d.r.rentalStatus === 'RENTING',
    SAGA,
  )
  return { itemId, reservationId }
}

/** What the owner and the customer see of a target: a refused mutation must leave it exactly so. */
async function state(t: Target): Promise<unknown> {
  const owner = await as('owner', ['owner'])
  const customer = await as('customer', ['renter'])
  return {
    item: (await must('query($id: ID!) { r: item(id: $id) { status rentalStatus } }', { id: t.itemId }, owner)).r,
    reservation: t.reservationId
      ? (
          await must(
            `query($id: ID!) { r: reservation(id: $id) { ${RES} payment { status } } }`,
            { id: t.reservationId },
            customer,
          )
        ).r
      : null,
    items: (await must('{ r: items(first: 200) { id } }', {}, owner)).r.length,
    reservations: (await must('{ r: reservations(first: 200) { id } }', {}, customer)).r.length,
  }
}

function check(op: Operation, caller: Persona, outcome: Outcome, result: GqlResult, t: Target): void {
  const cell = `${op.name} as ${caller.label}`
  if (outcome === 'allowed' || outcome === 'hidden') {
    expect([cell, result.errors]).toEqual([cell, undefined])
    expect([cell, op.shows(result.data!, t)]).toEqual([cell, outcome === 'allowed'])
  } else expect([cell, errorCode(result)]).toEqual([cell, outcome])
}

const cells = OPERATIONS.flatMap(op => CALLERS.map(caller => ({ op, caller, outcome: expected(op, caller) })))

beforeAll(async () => {
  await stack.start('item', 'reservation', 'payment', 'projections')
  await stack.start('router')
}, 120_000)
afterAll(() => stack.dispose())

describe(`authorization matrix: ${OPERATIONS.length} operations × ${CALLERS.length} callers = ${cells.length} cells`, () => {
  it('the table is whole: every query, mutation and subscription of the public schema, and every private field, has a row', async () => {
    const schema = await api(
      '{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }',
      {},
    )
    const fields = ['queryType', 'mutationType', 'subscriptionType'].flatMap(type =>
      schema.data!.__schema[type].fields.map((f: { name: string }) => f.name as string),
    )
    expect(fields.filter(f => !OPERATIONS.some(op => op.name === f))).toEqual([])
    // Every private field has a row for each way of reading an ItemInfo.
    for (const read of ['itemInfo', 'itemInfos', 'itemInfoChanged'])
      for (const field of PRIVATE_FIELDS) expect(OPERATIONS.map(op => op.name)).toContain(`${read}.${field}`)
  })

  it.each(OPERATIONS.filter(op => op.kind !== 'mutation').map(op => [`${op.kind} ${op.name}`, op] as const))(
    '%s: each caller sees exactly what the table says',
    async (_, op) => {
      const t = await make(op.fixture)
      const mine = cells.filter(c => c.op === op)
      // Read models follow by events: wait until an allowed caller sees the target, then ask everyone.
      const first = mine.find(c => c.outcome === 'allowed')!.caller
      const firstToken = await bearer(first)
      await eventually(
        () => ask(op, t, firstToken),
        r => !r.errors && op.shows(r.data!, t),
        SAGA,
      )
      for (const { caller, outcome } of mine) check(op, caller, outcome, await ask(op, t, await bearer(caller)), t)
    },
    180_000,
  )

  it.each(OPERATIONS.filter(op => op.kind === 'mutation').map(op => [op.name, op] as const))(
    'mutation %s: refused cells change nothing; each allowed cell applies it to a fresh target',
    async (_, op) => {
      const mine = cells.filter(c => c.op === op)
      const shared = await make(op.fixture)
      const before = await state(shared)
      for (const { caller, outcome } of mine.filter(c => c.outcome !== 'allowed'))
        check(op, caller, outcome, await api(op.document, op.variables(shared), await bearer(caller)), shared)
      expect(await state(shared)).toEqual(before)
      const allowed = mine.filter(c => c.outcome === 'allowed')
      for (const { caller, outcome } of allowed) {
        const fresh = await make(op.fixture)
        check(op, caller, outcome, await api(op.document, op.variables(fresh), await bearer(caller)), fresh)
      }
    },
    300_000,
  )
})
