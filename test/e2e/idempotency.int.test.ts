// Idempotency keys through the router: a mutation retried with the same Idempotency-Key and caller
// gets the first answer back and changes nothing more; another caller's key, or the same key after
// the retention window, is a new request; the same key with other arguments is refused.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { errorCode, eventually, gql, sleep, Stack, token } from '../harness.js'

const RETENTION_MS = 3000
const stack = new Stack({ all: { IDEMPOTENCY_RETENTION_MS: String(RETENTION_MS) } })
let owner: string
let otherOwner: string
let renter: string

const api = (query: string, variables: Record<string, unknown>, as: string, key?: string) =>
  gql(stack.url('router'), query, variables, as, key === undefined ? {} : { 'Idempotency-Key': key })

const REGISTER = `mutation($name: String!) { registerItem(input: { name: $name, price: 250 }) { id name } }`
const itemsNamed = async (name: string) =>
  ((await api(`{ items(first: 200) { id name } }`, {}, owner)).data?.items ?? []).filter(
    (i: { name: string }) => i.name === name,
  )

beforeAll(async () => {
  await stack.start('item', 'reservation', 'payment')
  await stack.start('router')
  owner = await token('idem-owner', 'Olivia', ['owner'])
  otherOwner = await token('idem-owner-2', 'Oscar', ['owner'])
  renter = await token('idem-renter', 'YoungEun', ['renter'])
}, 120_000)
afterAll(() => stack.dispose())

describe('Idempotency-Key', () => {
  it('answers a retry with the first answer and registers the item once, even when the retries race', async () => {
    const name = `Tent ${randomUUID()}`
    const key = randomUUID()
    const first = await api(REGISTER, { name }, owner, key)
    expect(first.errors).toBeUndefined()
    const again = await api(REGISTER, { name }, owner, key)
    expect(again.data).toEqual(first.data)
    const racing = await Promise.all(
      Array.from({ length: 5 }, () => api(REGISTER, { name: `${name}!` }, owner, `${key}-race`)),
    )
    expect(racing.map(r => r.errors)).toEqual(racing.map(() => undefined))
    expect(new Set(racing.map(r => r.data?.registerItem.id)).size).toBe(1)
    expect(await itemsNamed(name)).toHaveLength(1)
    expect(await itemsNamed(`${name}!`)).toHaveLength(1)
  })

  it('keeps keys per caller, refuses a key reused with other arguments, and a malformed key', async () => {
    const key = randomUUID()
    const name = `Lamp ${randomUUID()}`
    const mine = await api(REGISTER, { name }, owner, key)
    const theirs = await api(REGISTER, { name }, otherOwner, key)
    expect(theirs.data?.registerItem.id).not.toBe(mine.data?.registerItem.id)
    expect(errorCode(await api(REGISTER, { name: `${name} (other)` }, owner, key))).toBe('BAD_USER_INPUT')
    expect(await itemsNamed(`${name} (other)`)).toEqual([])
    expect(errorCode(await api(REGISTER, { name: 'x' }, owner, 'clé'))).toBe('BAD_USER_INPUT')
    expect(errorCode(await api(REGISTER, { name: 'x' }, owner, 'k'.repeat(256)))).toBe('BAD_USER_INPUT')
  })

  it('replays payReservation with the same key as the PAID reservation, charging once', async () => {
    const itemId = (await api(REGISTER, { name: `Drill ${randomUUID()}` }, owner)).data!.registerItem.id
    const reserveKey = randomUUID()
    const reserved = await api(
      `mutation($id: ID!) { reserveItem(itemId: $id) { id status } }`,
      { id: itemId },
      renter,
      reserveKey,
    )
    const retried = await api(
      `mutation($id: ID!) { reserveItem(itemId: $id) { id status } }`,
      { id: itemId },
      renter,
      reserveKey,
    )
    expect(retried.data).toEqual(reserved.data) // PENDING, as first answered
    const rid = reserved.data!.reserveItem.id
    await eventually(
      async () => (await api(`query($id: ID!) { reservation(id: $id) { status } }`, { id: rid }, renter)).data,
      d => d?.reservation?.status === 'CONFIRMED',
    )
    const PAY = `mutation($id: ID!) { payReservation(id: $id) { id paymentStatus } }`
    const payKey = randomUUID()
    const paid = await api(PAY, { id: rid }, renter, payKey)
    expect(paid.data?.payReservation).toEqual({ id: rid, paymentStatus: 'PAID' })
    expect((await api(PAY, { id: rid }, renter, payKey)).data).toEqual(paid.data)
    // Without the key it is a new request: paying twice is refused.
    expect(errorCode(await api(PAY, { id: rid }, renter))).toBe('CONFLICT')
    const payments = (await api(`{ payments { reservation { id } status } }`, {}, renter)).data?.payments ?? []
    expect(payments.filter((p: { reservation: { id: string } }) => p.reservation.id === rid)).toEqual([
      { reservation: { id: rid }, status: 'PAID' },
    ])
  })

  it('forgets a key after IDEMPOTENCY_RETENTION_MS: the same request then runs again', async () => {
    const name = `Ladder ${randomUUID()}`
    const key = randomUUID()
    const first = await api(REGISTER, { name }, owner, key)
    await sleep(RETENTION_MS + 500)
    const later = await api(REGISTER, { name }, owner, key)
    expect(later.data?.registerItem.id).not.toBe(first.data?.registerItem.id)
    expect(await itemsNamed(name)).toHaveLength(2)
  })
})
