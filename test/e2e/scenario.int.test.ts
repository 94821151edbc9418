// The original's "CQRS 포함 시나리오" end to end through the real router: every process real, every
// state reached by events, waited for by polling with a deadline.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { errorCode, eventually, gql, Stack, token } from '../harness.js'

const stack = new Stack()
let owner: string
let renter: string
let otherRenter: string
const api = (query: string, variables: Record<string, unknown> = {}, as?: string) =>
  gql(stack.url('router'), query, variables, as)

const ITEM_INFO = `itemId itemName itemPrice ownerId itemStatus rentalStatus deleted reservationId customerId customerName reservationStatus paymentStatus version item { id name price }`
const RESERVATION = `id itemId status paymentStatus rentalStatus customerName item { id name status } payment { id amount status }`

// As the owner: the reservation behind an item (customer, payment) is private to the owner and the customer.
const itemInfo = async (itemId: string, as = owner) =>
  (await api(`query($id: ID!) { itemInfo(itemId: $id) { ${ITEM_INFO} } }`, { id: itemId }, as)).data?.itemInfo
const reservation = async (id: string, as = renter) =>
  (await api(`query($id: ID!) { reservation(id: $id) { ${RESERVATION} } }`, { id }, as)).data?.reservation

beforeAll(async () => {
  await stack.start('item', 'reservation', 'payment', 'projections')
  await stack.start('router')
  owner = await token('owner-1', 'Olivia', ['owner'])
  renter = await token('renter-1', 'YoungEun', ['renter'])
  otherRenter = await token('renter-2', 'Minsu', ['renter'])
}, 120_000)
afterAll(() => stack.dispose())

describe('the rental scenario through the router', () => {
  it('register → reserve → confirmed → pay → lend → return, and itemInfos shows each step', async () => {
    const registered = await api(
      `mutation { registerItem(input: { name: "Camera", price: 100 }) { id name price status rentalStatus ownerId } }`,
      {},
      owner,
    )
    expect(registered.errors).toBeUndefined()
    const item = registered.data!.registerItem
    expect(item).toMatchObject({
      name: 'Camera',
      price: 100,
      status: 'RENTABLE',
      rentalStatus: 'NOT_RENTING',
      ownerId: 'owner-1',
    })
    const id = item.id as string

    const registeredInfo = await eventually(
      () => itemInfo(id),
      i => !!i,
    )
    expect(registeredInfo).toMatchObject({
      itemName: 'Camera',
      itemPrice: 100,
      itemStatus: 'RENTABLE',
      rentalStatus: 'NOT_RENTING',
      reservationId: null,
      version: 1,
      item: { id, name: 'Camera', price: 100 },
    })

    const reserved = await api(
      `mutation($id: ID!) { reserveItem(itemId: $id) { id status paymentStatus rentalStatus customerName } }`,
      { id },
      renter,
    )
    expect(reserved.data!.reserveItem).toMatchObject({
      status: 'PENDING',
      paymentStatus: 'NOT_PAID',
      customerName: 'YoungEun',
    })
    const rid = reserved.data!.reserveItem.id as string

    const confirmed = await eventually(
      () => reservation(rid),
      r => r?.status === 'CONFIRMED',
    )
    expect(confirmed).toMatchObject({ item: { id, status: 'NOT_RENTABLE' }, payment: null })
    expect(
      await eventually(
        () => itemInfo(id),
        i => i?.reservationStatus === 'CONFIRMED',
      ),
    ).toMatchObject({
      itemStatus: 'NOT_RENTABLE',
      reservationId: rid,
      customerId: 'renter-1',
      customerName: 'YoungEun',
      paymentStatus: 'NOT_PAID',
    })

    // Someone else's reservation of the held item is rejected; it never becomes CONFIRMED.
    const late = await api(`mutation($id: ID!) { reserveItem(itemId: $id) { id } }`, { id }, otherRenter)
    expect(
      (await eventually(
        () => reservation(late.data!.reserveItem.id, otherRenter),
        r => r?.status !== 'PENDING',
      ))!.status,
    ).toBe('REJECTED')

    const paid = await api(`mutation($id: ID!) { payReservation(id: $id) { ${RESERVATION} } }`, { id: rid }, renter)
    expect(paid.errors).toBeUndefined()
    expect(paid.data!.payReservation).toMatchObject({ paymentStatus: 'PAID', payment: { amount: 100, status: 'PAID' } })
    const payments = await api(`{ payments { amount status reservation { id status } } }`, {}, renter)
    expect(payments.data!.payments).toEqual([
      { amount: 100, status: 'PAID', reservation: { id: rid, status: 'CONFIRMED' } },
    ])
    expect(errorCode(await api(`mutation($id: ID!) { payReservation(id: $id) { id } }`, { id: rid }, renter))).toBe(
      'CONFLICT',
    )

    // The reservation decides the lend against its own payment state, synchronously.
    const lent = await eventually(
      () => api(`mutation($r: ID!) { lendItem(reservationId: $r) { id status rentalStatus } }`, { r: rid }, owner),
      r => !r.errors,
    )
    expect(lent.data!.lendItem).toMatchObject({ status: 'NOT_RENTABLE', rentalStatus: 'RENTING' })
    expect(
      await eventually(
        () => reservation(rid),
        r => r?.rentalStatus === 'RENTING',
      ),
    ).toMatchObject({ paymentStatus: 'PAID' })
    expect(errorCode(await api(`mutation($id: ID!) { cancelReservation(id: $id) { id } }`, { id: rid }, renter))).toBe(
      'CONFLICT',
    )
    expect(errorCode(await api(`mutation($id: ID!) { cancelPayment(id: $id) { id } }`, { id: rid }, renter))).toBe(
      'CONFLICT',
    )
    expect(errorCode(await api(`mutation($id: ID!) { deleteItem(id: $id) { id } }`, { id }, owner))).toBe('CONFLICT')

    const returned = await api(`mutation($id: ID!) { returnItem(itemId: $id) { status rentalStatus } }`, { id }, owner)
    expect(returned.data!.returnItem).toEqual({ status: 'RENTABLE', rentalStatus: 'RETURNED' })
    expect(
      await eventually(
        () => reservation(rid),
        r => r?.rentalStatus === 'RETURNED',
      ),
    ).toMatchObject({ status: 'CONFIRMED', paymentStatus: 'PAID' })

    const final = await eventually(
      () => itemInfo(id),
      i => i?.rentalStatus === 'RETURNED' && i?.itemStatus === 'RENTABLE',
    )
    expect(final).toMatchObject({
      reservationId: rid,
      reservationStatus: 'CONFIRMED',
      paymentStatus: 'PAID',
      deleted: false,
    })
    const infos = await api(`query($o: ID) { itemInfos(ownerId: $o) { itemId rentalStatus } }`, { o: 'owner-1' })
    expect(infos.data!.itemInfos).toContainEqual({ itemId: id, rentalStatus: 'RETURNED' })
  })

  it('of 50 concurrent reservations of one item exactly one is confirmed', async () => {
    const id = (await api(`mutation { registerItem(input: { name: "Tent", price: 5000 }) { id } }`, {}, owner)).data!
      .registerItem.id
    const renters = await Promise.all(
      Array.from({ length: 50 }, (_, i) => token(`crowd-${i}`, `Renter ${i}`, ['renter'])),
    )
    const made = await Promise.all(
      renters.map(t => api(`mutation($id: ID!) { reserveItem(itemId: $id) { id status } }`, { id }, t)),
    )
    expect(made.every(r => r.data?.reserveItem.status === 'PENDING')).toBe(true)
    const decided = await eventually(
      () => Promise.all(made.map((r, i) => reservation(r.data!.reserveItem.id, renters[i]))),
      rs => rs.every(r => r && r.status !== 'PENDING'),
      { timeoutMs: 30_000, intervalMs: 200 },
    )
    expect(decided.filter(r => r!.status === 'CONFIRMED')).toHaveLength(1)
    expect(decided.filter(r => r!.status === 'REJECTED')).toHaveLength(49)
  })

  it('cancelling a paid reservation refunds it and frees the item', async () => {
    const id = (await api(`mutation { registerItem(input: { name: "Kayak", price: 700 }) { id } }`, {}, owner)).data!
      .registerItem.id
    const rid = (await api(`mutation($id: ID!) { reserveItem(itemId: $id) { id } }`, { id }, renter)).data!.reserveItem
      .id
    await eventually(
      () => reservation(rid),
      r => r?.status === 'CONFIRMED',
    )
    expect(
      (await api(`mutation($id: ID!) { payReservation(id: $id) { paymentStatus } }`, { id: rid }, renter)).data!
        .payReservation.paymentStatus,
    ).toBe('PAID')
    const cancelled = await api(
      `mutation($id: ID!) { cancelReservation(id: $id) { status paymentStatus payment { status } } }`,
      { id: rid },
      renter,
    )
    expect(cancelled.data!.cancelReservation).toEqual({
      status: 'CANCELLED',
      paymentStatus: 'CANCELLED',
      payment: { status: 'CANCELLED' },
    })
    expect(
      await eventually(
        () => itemInfo(id),
        i => i?.itemStatus === 'RENTABLE' && i?.reservationStatus === 'CANCELLED',
      ),
    ).toMatchObject({ paymentStatus: 'CANCELLED' })
    const item = await api(`query($id: ID!) { item(id: $id) { status } }`, { id })
    expect(item.data!.item.status).toBe('RENTABLE')
    // Deleted items vanish from reservations and ItemInfo.item but keep their read model.
    expect((await api(`mutation($id: ID!) { deleteItem(id: $id) { id } }`, { id }, owner)).errors).toBeUndefined()
    expect(
      await eventually(
        () => itemInfo(id),
        i => i?.deleted === true,
      ),
    ).toMatchObject({ item: null })
    expect(
      await eventually(
        () => reservation(rid),
        r => r?.item === null,
      ),
    ).toMatchObject({ status: 'CANCELLED' })
  })

  it('answers each contract error code through the router', async () => {
    expect(errorCode(await api(`mutation { registerItem(input: { name: "x", price: 1 }) { id } }`))).toBe(
      'UNAUTHENTICATED',
    )
    expect(
      errorCode(await api(`mutation { registerItem(input: { name: "x", price: 1 }) { id } }`, {}, 'not-a-jwt')),
    ).toBe('UNAUTHENTICATED')
    expect(errorCode(await api(`mutation { registerItem(input: { name: "x", price: 1 }) { id } }`, {}, renter))).toBe(
      'FORBIDDEN',
    )
    expect(errorCode(await api(`mutation { registerItem(input: { name: "x", price: -1 }) { id } }`, {}, owner))).toBe(
      'BAD_USER_INPUT',
    )
    expect(errorCode(await api(`mutation { reserveItem(itemId: "not-an-id") { id } }`, {}, renter))).toBe(
      'BAD_USER_INPUT',
    )
    expect(
      errorCode(
        await api(`mutation { cancelReservation(id: "00000000-0000-4000-8000-000000000000") { id } }`, {}, renter),
      ),
    ).toBe('NOT_FOUND')
    const { data } = await api(`{ items { id } itemInfos { itemId } }`)
    expect(Array.isArray(data!.items) && Array.isArray(data!.itemInfos)).toBe(true)
  })
})
