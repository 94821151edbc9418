// payReservation when payment is down or slow: PAYMENT_UNAVAILABLE fast, nothing changed; the
// circuit opens after repeated timeouts, answers at once while open, and closes after recovery.
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { errorCode, eventually, sleep, Stack } from '../../../test/harness.js'
import { emitItemEvent, itemSnapshot, mutate, paymentsOf, person, readReservation, stored } from './testing.js'
import { TestBus } from '../../../test/bus.js'

const TIMEOUT_MS = 300
const RESET_MS = 1500

describe('payment outage and circuit breaker', () => {
  // Mutated between restarts: the harness reads it each time it starts payment.
  const paymentEnv: NodeJS.ProcessEnv = { PAYMENT_APPROVAL_DELAY_MS: '0' }
  const stack = new Stack({
    payment: paymentEnv,
    reservation: {
      PAYMENT_TIMEOUT_MS: String(TIMEOUT_MS),
      PAYMENT_BREAKER_VOLUME: '3',
      PAYMENT_BREAKER_ERROR_PERCENT: '50',
      PAYMENT_BREAKER_RESET_MS: String(RESET_MS),
    },
  })
  let items: TestBus
  const renter = person('Kim', ['renter'])

  beforeAll(async () => {
    await stack.start('reservation', 'payment')
    items = await TestBus.open(stack)
  }, 90_000)
  afterAll(async () => {
    await items?.close()
    await stack.dispose()
  })

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

  /** Pays and answers the error code and how long it took. */
  async function timedPay(id: string): Promise<{ code: unknown; ms: number }> {
    const started = Date.now()
    const res = await mutate(stack, renter, 'payReservation', id)
    return { code: errorCode(res) ?? res.data?.r.paymentStatus, ms: Date.now() - started }
  }

  it('answers PAYMENT_UNAVAILABLE within 1 s when payment is stopped, then opens the circuit on timeouts and recovers', async () => {
    const id = await confirmedReservation()
    const before = await stored(stack, id)

    await stack.stop('payment')
    const down = await timedPay(id)
    expect(down).toMatchObject({ code: 'PAYMENT_UNAVAILABLE' })
    expect(down.ms).toBeLessThan(1000)

    // Slower than the caller's deadline: each call times out, and the third opens the circuit.
    paymentEnv.PAYMENT_APPROVAL_DELAY_MS = String(TIMEOUT_MS * 3)
    await stack.restart('payment')
    for (let i = 0; i < 2; i++) {
      const slow = await timedPay(id)
      expect(slow.code).toBe('PAYMENT_UNAVAILABLE')
      expect(slow.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 20)
      expect(slow.ms).toBeLessThan(1000)
    }
    const openedAt = Date.now()
    for (let i = 0; i < 3; i++) {
      const open = await timedPay(id) // fails fast without calling payment
      expect(open.code).toBe('PAYMENT_UNAVAILABLE')
      expect(open.ms).toBeLessThan(200)
    }
    expect(await stored(stack, id)).toEqual(before)

    // The timed-out approvals did complete at payment: exactly one charge, whatever the retries.
    await eventually(
      () => paymentsOf(stack, renter),
      ps => ps.length === 1,
    )

    paymentEnv.PAYMENT_APPROVAL_DELAY_MS = '0'
    await stack.stop('payment')
    await stack.restart('payment')
    // After the reset time one trial call goes through; its success closes the circuit.
    await sleep(Math.max(0, openedAt + RESET_MS + 100 - Date.now()))
    expect((await timedPay(id)).code).toBe('PAID')
    const payments = await paymentsOf(stack, renter)
    expect(payments).toEqual([expect.objectContaining({ amount: 800, status: 'PAID', reservation: { id } })])

    const next = await confirmedReservation()
    const closed = await timedPay(next)
    expect(closed.code).toBe('PAID')
  })
})
