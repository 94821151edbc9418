// Through the router, as a client would: lists paged as the contract says (newest first, `first`
// 1..200, default 50, `after` the last id of the previous page) in every subgraph, each order
// served by an index (plans read from the databases themselves); hostile strings and ids refused
// with BAD_USER_INPUT before any database sees them, changing nothing; and subgraphs closed to
// anyone but GDmarket itself.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import pg from 'pg'
import { errorCode, eventually, gql, Stack, token } from '../harness.js'
import { createPaymentDb } from '../../subgraphs/payment/src/store.js'

const stack = new Stack({
  router: { RATE_LIMIT_ENABLED: '0' },
  reservation: { PAYMENT_TIMEOUT_MS: '10000', RECONCILE_AFTER_MS: '11000' },
})
const api = (query: string, variables: Record<string, unknown> = {}, bearer?: string) =>
  gql(stack.url('router'), query, variables, bearer)

let owner = ''
let otherOwner = ''
let renter = ''
let stranger = ''
/** Registered by `owner`, in creation order. */
const items: string[] = []
/** Reserved by `renter`, in creation order. */
const reservations: string[] = []

beforeAll(async () => {
  await stack.start('item', 'reservation', 'payment', 'projections')
  await stack.start('router')
  owner = await token('owner-paging', 'Olivia', ['owner'])
  otherOwner = await token('owner-paging-2', 'Oscar', ['owner'])
  renter = await token('renter-paging', 'Rita', ['renter'])
  stranger = await token('renter-paging-2', 'Sam', ['renter'])
  const register = async (name: string, as: string) =>
    (await api('mutation($n: String!) { registerItem(input: { name: $n, price: 10 }) { id } }', { n: name }, as)).data!
      .registerItem.id as string
  for (let i = 0; i < 7; i++) items.push(await register(`Thing ${i}`, owner))
  await register('Not mine', otherOwner)
  for (const id of items.slice(0, 4))
    reservations.push(
      (await api('mutation($id: ID!) { reserveItem(itemId: $id) { id } }', { id }, renter)).data!.reserveItem.id,
    )
  for (const id of reservations.slice(0, 3)) {
    await eventually(
      async () => (await api('query($id: ID!) { reservation(id: $id) { status } }', { id }, renter)).data?.reservation,
      r => r?.status === 'CONFIRMED',
    )
    const paid = await api('mutation($id: ID!) { payReservation(id: $id) { paymentStatus } }', { id }, renter)
    expect(paid.data?.payReservation.paymentStatus).toBe('PAID')
  }
}, 120_000)
afterAll(() => stack.dispose())

/** Every page of `field` at `size`, following `after` until a short page; the ids of each page. */
async function pages(field: string, args: string, size: number, bearer?: string, key = 'id'): Promise<string[][]> {
  const out: string[][] = []
  let after: string | null = null
  for (;;) {
    const r = await api(
      `query($first: Int, $after: ID) { list: ${field}(${args}${args ? ', ' : ''}first: $first, after: $after) { ${key} } }`,
      { first: size, after },
      bearer,
    )
    expect(r.errors).toBeUndefined()
    const ids = (r.data!.list as Record<string, string>[]).map(e => e[key]!)
    out.push(ids)
    if (ids.length < size) return out
    after = ids[ids.length - 1]!
  }
}

const newestFirst = (ids: string[]) => [...ids].reverse()

describe('paging', () => {
  it('items: newest first in pages that join up with no gap and no repeat, with and without a status', async () => {
    const all = await pages('items', '', 3)
    expect(all.map(p => p.length)).toEqual([3, 3, 2])
    expect(all.flat().filter(id => items.includes(id))).toEqual(newestFirst(items))
    expect(new Set(all.flat()).size).toBe(8)
    // The reserved (held) items leave the RENTABLE list; paging it skips them, in order.
    await eventually(
      async () => (await pages('items', 'status: NOT_RENTABLE', 50)).flat().length,
      n => n === 4,
    )
    const rentable = await pages('items', 'status: RENTABLE', 2)
    expect(rentable.flat().filter(id => items.includes(id))).toEqual(newestFirst(items.slice(4)))
    const held = await pages('items', 'status: NOT_RENTABLE', 3)
    expect(held.flat()).toEqual(newestFirst(items.slice(0, 4)))
  })

  it('reservations: the caller’s own only, newest first; none for someone else or an anonymous caller', async () => {
    const mine = await pages('reservations', '', 3, renter)
    expect(mine.map(p => p.length)).toEqual([3, 1])
    expect(mine.flat()).toEqual(newestFirst(reservations))
    expect(await pages('reservations', '', 50, stranger)).toEqual([[]])
    expect(await pages('reservations', '', 50, owner)).toEqual([[]])
    expect(await pages('reservations', '', 50)).toEqual([[]])
  })

  it('payments: the caller’s own, newest first', async () => {
    const r = await api('{ payments(first: 2) { id reservation { id } } }', {}, renter)
    const firstPage = r.data!.payments as { id: string; reservation: { id: string } }[]
    expect(firstPage.map(p => p.reservation.id)).toEqual(newestFirst(reservations.slice(0, 3)).slice(0, 2))
    const next = await api(
      'query($after: ID) { payments(first: 2, after: $after) { reservation { id } } }',
      { after: firstPage[1]!.id },
      renter,
    )
    expect(next.data!.payments).toEqual([{ reservation: { id: reservations[0] } }])
    expect((await api('{ payments { id } }', {}, stranger)).data!.payments).toEqual([])
  })

  it('itemInfos: every item or one owner’s, newest first, paged by itemId', async () => {
    await eventually(
      async () => (await pages('itemInfos', 'ownerId: "owner-paging"', 50, undefined, 'itemId')).flat().length,
      n => n === 7,
    )
    const mine = await pages('itemInfos', 'ownerId: "owner-paging"', 4, undefined, 'itemId')
    expect(mine.map(p => p.length)).toEqual([4, 3])
    expect(mine.flat()).toEqual(newestFirst(items))
    expect((await pages('itemInfos', '', 5, undefined, 'itemId')).flat()).toHaveLength(8)
  })

  it('the contract’s bounds: first 1..200, default 50, after an id; anything else BAD_USER_INPUT', async () => {
    for (const field of ['items', 'reservations', 'payments', 'itemInfos']) {
      const key = field === 'itemInfos' ? 'itemId' : 'id'
      for (const args of ['first: 0', 'first: -1', 'first: 201', 'after: "not-an-id"', 'after: ""'])
        expect(errorCode(await api(`{ ${field}(${args}) { ${key} } }`, {}, renter))).toBe('BAD_USER_INPUT')
      expect((await api(`{ ${field}(first: 200) { ${key} } }`, {}, renter)).errors).toBeUndefined()
    }
  })

  it('each order is served by its index: the filter and the id range in one index condition, in every database', async () => {
    const after = items[6]!
    /**
     * The plan of `sql` once the table holds 3000 other rows (`seed`, undone afterwards): on a
     * handful of rows PostgreSQL rightly scans the table, so that would show nothing.
     */
    const plan = async (db: 'item' | 'reservation' | 'projections', seed: string, sql: string, params: unknown[]) => {
      const client = new pg.Client({ connectionString: stack.databaseUrl(db) })
      await client.connect()
      try {
        await client.query('BEGIN')
        await client.query(seed)
        await client.query('ANALYZE')
        const { rows } = await client.query(`EXPLAIN ${sql}`, params)
        return rows.map(r => r['QUERY PLAN'] as string).join('\n')
      } finally {
        await client.query('ROLLBACK')
        await client.end()
      }
    }
    const others = 'FROM generate_series(1, 3000) AS g'
    const cases: [Promise<string>, RegExp][] = [
      [
        plan(
          'item',
          `INSERT INTO "Item" (id, name, price, "ownerId", status, "updatedAt") SELECT gen_random_uuid(), 'x', 1, 'o', 'NOT_RENTABLE', now() ${others}`,
          `SELECT * FROM "Item" WHERE "deletedAt" IS NULL AND status = 'RENTABLE' AND id < $1 ORDER BY id DESC LIMIT 50`,
          [after],
        ),
        /Index Scan.* using "Item_status_deletedAt_id_idx"[\s\S]*Index Cond: \(\(status = .*"deletedAt" IS NULL.*id < /,
      ],
      [
        plan(
          'item',
          `INSERT INTO "Item" (id, name, price, "ownerId", "deletedAt", "updatedAt") SELECT gen_random_uuid(), 'x', 1, 'o', now(), now() ${others}`,
          `SELECT * FROM "Item" WHERE "deletedAt" IS NULL AND id < $1 ORDER BY id DESC LIMIT 50`,
          [after],
        ),
        /Index Scan.* using "Item_deletedAt_id_idx"[\s\S]*Index Cond: \(\("deletedAt" IS NULL\) AND \(id < /,
      ],
      [
        plan(
          'reservation',
          `INSERT INTO "Reservation" (id, "itemId", "customerId", "customerName", "updatedAt") SELECT gen_random_uuid(), gen_random_uuid(), 'c' || g, 'x', now() ${others}`,
          `SELECT * FROM "Reservation" WHERE "customerId" = $1 AND id < $2 ORDER BY id DESC LIMIT 50`,
          ['renter-paging', after],
        ),
        /Index Scan.* using "Reservation_customerId_id_idx"[\s\S]*Index Cond: \(\("customerId" = .*id < /,
      ],
      [
        plan(
          'projections',
          `INSERT INTO "ItemInfo" ("itemId", "itemName", "itemPrice", "ownerId", "itemStatus", "rentalStatus", version, "itemVersion", "lastSeq", "updatedAt") SELECT gen_random_uuid(), 'x', 1, 'o' || g, 'RENTABLE', 'NOT_RENTING', 1, 1, 0, now() ${others}`,
          `SELECT * FROM "ItemInfo" WHERE "ownerId" = $1 AND "itemId" < $2 ORDER BY "itemId" DESC LIMIT 50`,
          ['owner-paging', after],
        ),
        /Index Scan.* using "ItemInfo_ownerId_itemId_idx"[\s\S]*Index Cond: \(\("ownerId" = .*"itemId" < /,
      ],
    ]
    for (const [shown, expected] of cases) expect(await shown).toMatch(expected)
    const payments = createPaymentDb(stack.databaseUrl('payment'), 1)
    try {
      const rows = await payments.$queryRawUnsafe<{ detail: string }[]>(
        `EXPLAIN QUERY PLAN SELECT * FROM "Payment" WHERE "customerId" = ? AND "id" < ? ORDER BY "id" DESC LIMIT 50`,
        'renter-paging',
        after,
      )
      const shown = rows.map(r => r.detail).join('\n')
      expect(shown).toMatch(/USING INDEX Payment_customerId_id_idx \(customerId=\? AND id<\?\)/)
      expect(shown).not.toContain('TEMP B-TREE')
    } finally {
      await payments.$disconnect()
    }
  })
})

describe('closed subgraphs', () => {
  it('answer nothing without the internal secret, health endpoints aside', async () => {
    for (const name of ['item', 'reservation', 'payment', 'projections'] as const) {
      const res = await gql(stack.url(name), '{ __typename }')
      expect(res.status).toBe(403)
      expect(errorCode(res)).toBe('FORBIDDEN')
      expect(res.data).toBeUndefined()
      expect((await fetch(`http://127.0.0.1:${stack.ports[name]}/health/ready`)).status).toBe(200)
    }
    const entities = await gql(
      stack.url('payment'),
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on Reservation { payment { amount } } } }',
      { r: [{ __typename: 'Reservation', id: reservations[0] }] },
    )
    expect(entities.status).toBe(403)
    expect(JSON.stringify(entities)).not.toContain('amount')
  })
})

describe('hostile input', () => {
  const itemCount = async () => (await pages('items', '', 200)).flat().length

  it('control characters and lone surrogates in any string, literal or variable, are BAD_USER_INPUT and change nothing', async () => {
    const before = await itemCount()
    const register = 'mutation($i: RegisterItemInput!) { registerItem(input: $i) { id } }'
    for (const name of [
      'a\u0000',
      'bell\u0007',
      'esc\u001b[2J',
      'del\u007f',
      'c1\u0085',
      'half \ud800 pair',
      'x\udc00',
    ])
      expect(errorCode(await api(register, { i: { name, price: 1 } }, owner))).toBe('BAD_USER_INPUT')
    expect(
      errorCode(await api('mutation { registerItem(input: { name: "a\\u0000", price: 1 }) { id } }', {}, owner)),
    ).toBe('BAD_USER_INPUT')
    expect(errorCode(await api('{ itemInfos(ownerId: "a\\u0000") { itemId } }'))).toBe('BAD_USER_INPUT')
    expect(errorCode(await api('query($o: ID) { itemInfos(ownerId: $o) { itemId } }', { o: 'a\u0000' }))).toBe(
      'BAD_USER_INPUT',
    )
    expect(errorCode(await api('query($id: ID!) { item(id: $id) { id } }', { id: `${items[0]}\u0000` }))).toBe(
      'BAD_USER_INPUT',
    )
    // Text any person may type is fine.
    const fine = await api(register, { i: { name: 'Café 근대 📷', price: 1 } }, owner)
    expect(fine.errors).toBeUndefined()
    expect(await itemCount()).toBe(before + 1)
  })

  it('malformed ids and over-long user ids are BAD_USER_INPUT before any database call', async () => {
    const reads: [string, Record<string, unknown>][] = [
      ['query($id: ID!) { item(id: $id) { id } }', { id: "1' OR '1'='1" }],
      ['query($id: ID!) { reservation(id: $id) { id } }', { id: 'x'.repeat(10_000) }],
      ['query($id: ID!) { itemInfo(itemId: $id) { itemId } }', { id: '42' }],
      ['query($o: ID) { itemInfos(ownerId: $o) { itemId } }', { o: 'o'.repeat(201) }],
    ]
    for (const [query, variables] of reads)
      expect(errorCode(await api(query, variables, renter))).toBe('BAD_USER_INPUT')
    const writes: [string, string][] = [
      ['deleteItem(id: $id) { id }', owner],
      ['lendItem(reservationId: $id) { id }', owner],
      ['returnItem(itemId: $id) { id }', owner],
      ['reserveItem(itemId: $id) { id }', renter],
      ['cancelReservation(id: $id) { id }', renter],
      ['payReservation(id: $id) { id }', renter],
      ['cancelPayment(id: $id) { id }', renter],
    ]
    for (const [field, as] of writes)
      expect(errorCode(await api(`mutation($id: ID!) { ${field} }`, { id: 'not-a-uuid' }, as))).toBe('BAD_USER_INPUT')
  })

  it('a price payment would decline is refused at registration; a token whose sub no row could hold is UNAUTHENTICATED', async () => {
    const register = 'mutation($p: Int!) { registerItem(input: { name: "Gold", price: $p }) { id price } }'
    expect(errorCode(await api(register, { p: 1_000_001 }, owner))).toBe('BAD_USER_INPUT')
    expect((await api(register, { p: 1_000_000 }, owner)).data?.registerItem.price).toBe(1_000_000)
    for (const sub of ['u'.repeat(201), 'u\u0000'])
      expect(errorCode(await api('{ reservations { id } }', {}, await token(sub, 'Long', ['renter'])))).toBe(
        'UNAUTHENTICATED',
      )
  })
})
