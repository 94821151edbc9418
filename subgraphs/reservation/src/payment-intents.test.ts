// What a caller is told once payment has acted but the reservation cannot record it: never a code
// that says nothing changed. The database is what this is not about, so its failure is simulated:
// the very error Prisma raises when no transaction can be started in time (an exhausted pool).
import { describe, expect, it } from '@jest/globals'
import { createLogger } from '@gdmarket/platform/logger'
import { AppError } from '@gdmarket/platform/errors'
import { Prisma } from '../../../generated/reservation/client.js'
import { callAndSettle } from './payment-intents.js'
import type { ReservationDeps } from './reservations.js'
import type { Reservation } from './store.js'

const pending: Reservation = {
  id: '0193a000-0000-7000-8000-000000000001',
  itemId: '0193a000-0000-7000-8000-000000000002',
  customerId: 'renter',
  customerName: 'Renter',
  status: 'CONFIRMED',
  paymentStatus: 'PAID',
  rentalStatus: 'NOT_RENTING',
  amount: 500,
  ownerId: 'owner',
  rejectReason: null,
  itemDeleted: false,
  paymentIntent: 'REFUND',
  paymentAttemptId: '0193a000-0000-7000-8000-000000000003',
  paymentIntentAt: new Date(),
  cancelAfterRefund: false,
  version: 4,
  createdAt: new Date(),
  updatedAt: new Date(),
}
const cause = { correlationId: 'test' }
const refunded = async () => ({ id: 'payment-1', amount: 500, status: 'CANCELLED' as const })

const depsWhoseDatabaseFails = (error: Error): ReservationDeps =>
  ({
    transact: async () => {
      throw error
    },
    logger: createLogger('test', 'silent'),
  }) as unknown as ReservationDeps

describe('callAndSettle', () => {
  it('answers PAYMENT_UNAVAILABLE, not SERVICE_UNAVAILABLE, when payment refunded but the settle cannot start', async () => {
    const timeout = new Prisma.PrismaClientKnownRequestError(
      'Transaction API error: Unable to start a transaction in the given time.',
      { code: 'P2028', clientVersion: 'test' },
    )
    const called: string[] = []
    const answer = callAndSettle(depsWhoseDatabaseFails(timeout), cause, pending, async attemptId => {
      called.push(attemptId)
      return refunded()
    })
    const refused = await answer.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(refused).toBeInstanceOf(AppError)
    expect(refused).toMatchObject({ code: 'PAYMENT_UNAVAILABLE' })
    expect(called).toEqual([pending.paymentAttemptId])
  })

  it('lets a failure that is no outage through as it is', async () => {
    const bug = new Error('a defect')
    await expect(callAndSettle(depsWhoseDatabaseFails(bug), cause, pending, refunded)).rejects.toBe(bug)
  })
})
