// Payment down, slow, or its answer lost: payment is the source of truth for money. A call that
// certainly never reached payment changes nothing; one whose answer was lost is settled by the
// reconciler from what payment really did, within seconds: PAID when the charge was committed,
// nothing charged when it was not (a late arrival of the call is refused). The circuit opens after
// repeated timeouts, answers at once while open, and closes again after recovery.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import pg from 'pg'
import { errorCode, eventually, sleep, Stack } from '../../../test/harness.js'
import { emitItemEvent, itemSnapshot, mutate, paymentsOf, person, readReservation, stored } from './testing.js'
import { TestBus } from '../../../test/bus.js'

const TIMEOUT_MS = 300
const RESET_MS = 1500
/** Later than any slow approval below commits, so a late charge is found, not closed. */
const RECONCILE_AFTER_MS = 3000
/** What the contract promises: within 10 s the reservation shows what payment did. */
const SETTLED_WITHIN_MS = 10_000

describe('payment outage, lost answers and the circuit breaker', () => {
  // Mutated between restarts: the harness reads it each time it starts payment.
  const paymentEnv: NodeJS.ProcessEnv = { PAYMENT_APPROVAL_DELAY_MS: '0' }
  const stack = new Stack({
    payment: paymentEnv,
    reservation: {
      PAYMENT_TIMEOUT_MS: String(TIMEOUT_MS),
      PAYMENT_BREAKER_VOLUME: '3',
      PAYMENT_BREAKER_ERROR_PERCENT: '50',
      PAYMENT_BREAKER_RESET_MS: String(RESET_MS),
      RECONCILE_AFTER_MS: String(RECONCILE_AFTER_MS),
      RECONCILE_INTERVAL_MS: '200',
    },
  })
  let items: TestBus
  const renter = person('Kim', ['renter'])
  /** How long each lost answer took to settle, for the log line at the end. */
  const settleTimes: number[] = []

  beforeAll(async () => {
    await stack.start('reservation', 'payment')
    items = await TestBus.open(stack)
  }, 90_000)
  afterAll(async () => {
    console.info(`lost payment answers settled in ${settleTimes.map(ms => `${ms} ms`).join(', ')}`)
    await items?.close()
    await stack.dispose()
  })

  async function restartPayment(delayMs: number): Promise<void> {
    await stack.stop('payment')
    paymentEnv.PAYMENT_APPROVAL_DELAY_MS = String(delayMs)
    await stack.restart('payment')
  }

  /** A new reservation process: its circuit closed, whatever earlier tests taught it. */
  async function freshBreaker(): Promise<void> {
    await stack.stop('reservation')
    await stack.restart('reservation')
  }

  async function confirmedReservation(): Promise<string> {
    const itemId = randomUUID()
    const { id } = (await mutate(stack, renter, 'reserveItem', itemId)).data!.r
    await emitItemEvent(items, 'ItemHeld', itemId, {
      item: itemSnapshot(itemId, 'owner-1', 800),
      reservationId: id,
      customerId: renter.userId,
      customerName: renter.name,
    })
    await eventually(
      () => readReservation(stack, renter, id),
      r => r?.status === 'CONFIRMED',
    )
    return id
  }

  /** Pays and answers the error code (or the payment status) and how long it took. */
  async function timedPay(id: string): Promise<{ code: unknown; ms: number }> {
    const started = Date.now()
    const res = await mutate(stack, renter, 'payReservation', id)
    return { code: errorCode(res) ?? res.data?.r.paymentStatus, ms: Date.now() - started }
  }

  /** Waits until the reservation has no payment call open; records how long that took. */
  async function settled(id: string, since: number) {
    const done = await eventually(
      () => stored(stack, id),
      s => s.row?.paymentIntent === null,
      { timeoutMs: SETTLED_WITHIN_MS, intervalMs: 100 },
    )
    settleTimes.push(Date.now() - since)
    return done.row!
  }

  const chargesOf = async (id: string) => (await paymentsOf(stack, renter)).filter(p => p.reservation.id === id)

  /** The settled reservation says what payment did: PAID with exactly one PAID charge, or unpaid with none. */
  async function matchesPayment(row: Record<string, unknown>): Promise<string> {
    const charges = await chargesOf(row.id as string)
    if (row.paymentStatus === 'PAID')
      expect(charges).toEqual([expect.objectContaining({ amount: 800, status: 'PAID' })])
    else expect(charges.filter(c => c.status === 'PAID')).toEqual([])
    return row.paymentStatus as string
  }

  it('answers PAYMENT_UNAVAILABLE at once when payment is stopped, and nothing changes', async () => {
    const id = await confirmedReservation()
    await stack.stop('payment')
    const down = await timedPay(id)
    expect(down.code).toBe('PAYMENT_UNAVAILABLE')
    expect(down.ms).toBeLessThan(5000) // refused at once, not after a deadline (generous: a loaded machine)
    // The call never reached payment (connection refused), so the intent was dropped at once.
    expect((await stored(stack, id)).row).toMatchObject({ paymentStatus: 'NOT_PAID', paymentIntent: null })
    await restartPayment(TIMEOUT_MS * 3)
    expect(await chargesOf(id)).toEqual([])
  })

  it('settles a charge committed after the caller gave up: PAYMENT_UNAVAILABLE, then PAID, charged once', async () => {
    const id = await confirmedReservation()
    const slow = await timedPay(id)
    expect(slow.code).toBe('PAYMENT_UNAVAILABLE')
    const answeredAt = Date.now()
    // The slow approval commits before the reconciler asks (RECONCILE_AFTER_MS), so: PAID, charged once.
    expect(await matchesPayment(await settled(id, answeredAt))).toBe('PAID')
    expect((await stored(stack, id)).events.map(e => e.type)).toContain('ReservationPaid')
  })

  it('settles a charge whose reservation process was killed between the intent and the answer', async () => {
    const id = await confirmedReservation()
    const paying = mutate(stack, renter, 'payReservation', id).catch(() => undefined)
    await eventually(
      () => stored(stack, id),
      s => s.row?.paymentIntent === 'CHARGE',
      { intervalMs: 10 },
    )
    await stack.stop('reservation', 'SIGKILL')
    await paying
    await stack.restart('reservation')
    const restartedAt = Date.now()
    await matchesPayment(await settled(id, restartedAt))
  })

  it('opens the circuit after repeated timeouts, answers at once while open, and settles every lost answer', async () => {
    const ids = await Promise.all([1, 2, 3, 4].map(() => confirmedReservation()))
    const firstAt = Date.now()
    const calls = []
    for (const id of ids) calls.push({ id, ...(await timedPay(id)) })
    expect(calls.map(c => c.code)).toEqual(ids.map(() => 'PAYMENT_UNAVAILABLE'))
    // Three timeouts open the circuit; from then on calls are refused at once, without calling payment.
    const lost = calls.filter(c => c.ms >= TIMEOUT_MS - 20)
    const refused = calls.filter(c => c.ms < 200)
    expect(lost.length).toBeGreaterThanOrEqual(1)
    expect(refused.length).toBeGreaterThanOrEqual(1)
    for (const c of refused)
      expect((await stored(stack, c.id)).row).toMatchObject({ paymentStatus: 'NOT_PAID', paymentIntent: null })
    // The reconciler's questions close the circuit again once it half-opens; each timed-out charge
    // had committed at payment, so each of those reservations ends PAID with one charge.
    for (const c of lost) await matchesPayment(await settled(c.id, firstAt))
    for (const c of refused) expect(await chargesOf(c.id)).toEqual([])
  })

  it('charges nothing when the call reaches payment only after the reconciler closed its attempt', async () => {
    const lateMs = RECONCILE_AFTER_MS + 5000
    await restartPayment(lateMs)
    await freshBreaker()
    const id = await confirmedReservation()
    const calledAt = Date.now()
    expect((await timedPay(id)).code).toBe('PAYMENT_UNAVAILABLE')
    expect(await settled(id, calledAt)).toMatchObject({ paymentStatus: 'NOT_PAID', status: 'CONFIRMED' })
    // Past the moment the slow call reaches payment's ledger: refused there, so still no charge.
    await sleep(Math.max(0, calledAt + lateMs + 1000 - Date.now()))
    expect(await chargesOf(id)).toEqual([])
    expect((await readReservation(stack, renter, id))?.paymentStatus).toBe('NOT_PAID')
  })

  it('makes a refund recorded but never sent (a crash right after the intent) and cancels the reservation', async () => {
    await restartPayment(0)
    await freshBreaker()
    const id = await confirmedReservation()
    // A cold payment process may miss the short deadline once; either way the reservation ends PAID.
    expect(['PAID', 'PAYMENT_UNAVAILABLE']).toContain((await timedPay(id)).code)
    expect(await settled(id, Date.now())).toMatchObject({ paymentStatus: 'PAID' })
    settleTimes.pop()
    // What cancelReservation leaves behind when it dies right after recording its intent.
    const db = new pg.Client({ connectionString: stack.databaseUrl('reservation') })
    await db.connect()
    try {
      await db.query(
        `UPDATE "Reservation" SET "paymentIntent" = 'REFUND', "paymentAttemptId" = $2, "paymentIntentAt" = now(),
           "cancelAfterRefund" = true, version = version + 1 WHERE id = $1`,
        [id, randomUUID()],
      )
    } finally {
      await db.end()
    }
    const recordedAt = Date.now()
    expect(await settled(id, recordedAt)).toMatchObject({ status: 'CANCELLED', paymentStatus: 'CANCELLED' })
    expect(await chargesOf(id)).toEqual([expect.objectContaining({ status: 'CANCELLED' })])
    expect((await stored(stack, id)).events.map(e => e.type).at(-1)).toBe('ReservationCancelled')
  })
})
