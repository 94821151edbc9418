// The payment subgraph over real HTTP against its own SQLite file and stream, talked to directly
// with the headers the router and the reservation subgraph send.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { DEV_INTERNAL_SECRET } from '@gdmarket/platform/config'
import { encodeCaller, type Caller } from '@gdmarket/platform/identity'
import { connect } from 'nats'
import { eventSubject, type EventOf } from '@gdmarket/platform/events'
import { paymentEvents, type PaymentEvents } from '@gdmarket/contracts/payment'
import { errorCode, eventually, gql, Stack } from '../../../test/harness.js'

const INTERNAL = { 'x-gdmarket-internal-secret': DEV_INTERNAL_SECRET }
const as = (caller: Caller) => ({ ...INTERNAL, 'x-gdmarket-caller': encodeCaller(caller) })
const renter: Caller = { userId: `renter-${randomUUID()}`, name: 'Kim', roles: ['renter'] }

const APPROVE = `mutation($r: ID!, $c: ID!, $a: Int!, $t: ID!) { approvePayment(reservationId: $r, customerId: $c, amount: $a, attemptId: $t) { id amount status } }`
const REFUND = `mutation($r: ID!, $t: ID!) { refundPayment(reservationId: $r, attemptId: $t) { id amount status } }`
const CLOSE = `mutation($r: ID!, $t: ID!) { closePaymentAttempt(reservationId: $r, attemptId: $t) { id amount status } }`
const MINE = `{ payments { id amount status createdAt reservation { id } } }`
const OF_RESERVATIONS = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Reservation { id payment { id status } } } }`

/** The newest payment event of a type in the stack's stream. */
async function lastEvent<K extends keyof PaymentEvents>(
  stack: Stack,
  type: K,
): Promise<EventOf<PaymentEvents, K> | undefined> {
  const nc = await connect({ servers: stack.natsUrl })
  try {
    const jsm = await nc.jetstreamManager()
    const msg = await jsm.streams.getMessage(stack.stream, {
      last_by_subj: eventSubject(stack.stream, paymentEvents.context, type),
    })
    return msg.json<EventOf<PaymentEvents, K>>()
  } finally {
    await nc.close()
  }
}

describe('payment subgraph', () => {
  const stack = new Stack({ payment: { PAYMENT_MAX_AMOUNT: '50000' } })
  let url = ''
  const approve = (r: string, amount: number, headers: Record<string, string> = INTERNAL, t = randomUUID()) =>
    gql(url, APPROVE, { r, c: renter.userId, a: amount, t }, undefined, headers)
  const refund = (r: string, t = randomUUID()) => gql(url, REFUND, { r, t }, undefined, INTERNAL)
  const mine = async () =>
    (
      await gql<{ payments: { id: string; status: string; createdAt: string; reservation: { id: string } }[] }>(
        url,
        MINE,
        {},
        undefined,
        as(renter),
      )
    ).data?.payments ?? []

  beforeAll(async () => {
    await stack.start('payment')
    url = stack.url('payment')
  }, 90_000)
  afterAll(async () => {
    // SIGTERM first: the harness's SIGKILL reaches only tsx, whose node child would outlive the test.
    for (const name of [...stack.running.keys()]) await stack.stop(name, 'SIGTERM')
    await stack.dispose()
  })

  it('approves once per reservation: a second approval returns the same payment', async () => {
    const r = randomUUID()
    const first = await approve(r, 1200)
    const again = await approve(r, 1200)
    expect(first.errors).toBeUndefined()
    expect(again.data).toEqual(first.data)
    expect(first.data?.approvePayment).toMatchObject({ amount: 1200, status: 'PAID' })
    expect((await mine()).filter(p => p.reservation.id === r)).toHaveLength(1)
  })

  it('charges once when approvals of one reservation race (a retry overlapping a slow first try)', async () => {
    const r = randomUUID()
    const all = await Promise.all(Array.from({ length: 6 }, () => approve(r, 80)))
    expect(all.map(a => a.errors)).toEqual(all.map(() => undefined))
    expect(new Set(all.map(a => a.data?.approvePayment.id)).size).toBe(1)
    expect((await mine()).filter(p => p.reservation.id === r)).toHaveLength(1)
  })

  it('declines an amount over PAYMENT_MAX_AMOUNT and records nothing', async () => {
    const r = randomUUID()
    const declined = await approve(r, 50001)
    expect(errorCode(declined)).toBe('PAYMENT_DECLINED')
    expect((await mine()).some(p => p.reservation.id === r)).toBe(false)
  })

  it('refuses callers without the internal secret and malformed input, recording nothing', async () => {
    const r = randomUUID()
    expect(errorCode(await approve(r, 10, {}))).toBe('FORBIDDEN')
    expect(errorCode(await gql(url, REFUND, { r, t: randomUUID() }))).toBe('FORBIDDEN')
    expect(errorCode(await approve(r, -5))).toBe('BAD_USER_INPUT')
    expect(errorCode(await approve('not-a-uuid', 5))).toBe('BAD_USER_INPUT')
    expect((await mine()).some(p => p.reservation.id === r)).toBe(false)
  })

  it('refunds idempotently, answers null without a payment, and charges a refunded reservation again', async () => {
    const r = randomUUID()
    const paid = (await approve(r, 300)).data!.approvePayment
    const refunded = await refund(r)
    expect(refunded.data?.refundPayment).toEqual({ ...paid, status: 'CANCELLED' })
    expect((await refund(r)).data).toEqual(refunded.data)
    expect((await refund(randomUUID())).data?.refundPayment).toBeNull()
    const repaid = await approve(r, 300)
    expect(repaid.data?.approvePayment).toEqual({ ...paid, status: 'PAID' })

    // Each change reached the stream from the SQLite outbox, carrying the payment's growing version.
    const last = (type: keyof PaymentEvents) =>
      eventually(
        () => lastEvent(stack, type),
        e => e?.data.reservationId === r,
      )
    expect(await last('PaymentRefunded')).toMatchObject({
      aggregateId: paid.id,
      aggregateVersion: 2,
      data: { paymentId: paid.id, amount: 300 },
    })
    expect(await last('PaymentApproved')).toMatchObject({ aggregateId: paid.id, aggregateVersion: 3 })
  })

  it('does each attempt once: a repeated refund attempt does not refund a later charge', async () => {
    const r = randomUUID()
    const refundAttempt = randomUUID()
    await approve(r, 40)
    expect((await refund(r, refundAttempt)).data?.refundPayment).toMatchObject({ status: 'CANCELLED' })
    expect((await approve(r, 40)).data?.approvePayment).toMatchObject({ status: 'PAID' })
    // The first refund arriving again (a retry, a late copy) answers the payment as it is: still PAID.
    expect((await refund(r, refundAttempt)).data?.refundPayment).toMatchObject({ status: 'PAID' })
  })

  it('closes an attempt that never ran, so its late arrival cannot charge; a made charge stays', async () => {
    const r = randomUUID()
    const late = randomUUID()
    const closed = await gql(url, CLOSE, { r, t: late }, undefined, INTERNAL)
    expect(closed.data?.closePaymentAttempt).toBeNull()
    expect(errorCode(await approve(r, 70, INTERNAL, late))).toBe('CONFLICT')
    expect((await mine()).some(p => p.reservation.id === r)).toBe(false)
    // Closing an attempt that did charge answers the charge: that is what the reservation settles to.
    const made = randomUUID()
    const paid = (await approve(r, 70, INTERNAL, made)).data!.approvePayment
    const answer = await gql(url, CLOSE, { r, t: made }, undefined, INTERNAL)
    expect(answer.data?.closePaymentAttempt).toEqual(paid)
    expect((await approve(r, 70, INTERNAL, made)).data?.approvePayment).toEqual(paid)
  })

  it('lists only the caller’s payments, newest first; nothing for anonymous callers', async () => {
    const other: Caller = { userId: `other-${randomUUID()}`, name: 'Lee', roles: ['renter'] }
    const list = await mine()
    expect(list.length).toBeGreaterThanOrEqual(2)
    const times = list.map(p => Date.parse(p.createdAt))
    expect([...times].sort((a, b) => b - a)).toEqual(times)
    expect((await gql(url, MINE, {}, undefined, as(other))).data?.payments).toEqual([])
    expect((await gql(url, MINE, {}, undefined, INTERNAL)).data?.payments).toEqual([])
  })

  it('extends Reservation with its payment, batched, null until paid', async () => {
    const paidReservation = randomUUID()
    await approve(paidReservation, 10)
    const unpaid = randomUUID()
    const reps = [paidReservation, unpaid].map(id => ({ __typename: 'Reservation', id }))
    const res = await gql<{ _entities: { id: string; payment: { id: string; status: string } | null }[] }>(
      url,
      OF_RESERVATIONS,
      { reps },
      undefined,
      as(renter),
    )
    expect(res.data?._entities).toEqual([
      { id: paidReservation, payment: { id: expect.any(String), status: 'PAID' } },
      { id: unpaid, payment: null },
    ])

    // Nobody but the payer gets the payment through a reference, by reservation or by payment id.
    const paymentId = res.data!._entities[0]!.payment!.id
    const other: Caller = { userId: `other-${randomUUID()}`, name: 'Lee', roles: ['owner', 'renter'] }
    const BY_ID = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Payment { id amount } } }`
    for (const headers of [as(other), INTERNAL]) {
      const ofReservation = await gql(url, OF_RESERVATIONS, { reps: reps.slice(0, 1) }, undefined, headers)
      expect(ofReservation.data?._entities).toEqual([{ id: paidReservation, payment: null }])
      const byId = await gql(url, BY_ID, { reps: [{ __typename: 'Payment', id: paymentId }] }, undefined, headers)
      expect(byId.data?._entities).toEqual([null])
    }
    const mineById = await gql(url, BY_ID, { reps: [{ __typename: 'Payment', id: paymentId }] }, undefined, as(renter))
    expect(mineById.data?._entities).toEqual([{ id: paymentId, amount: 10 }])
  })
})
