// The synchronous call to the payment subgraph: HTTP with the internal secret and the request's
// correlation id, a deadline, and a circuit breaker so a slow or dead payment subgraph costs callers
// nothing once it is known to be failing. A decline is an answer, not a failure of payment.
import CircuitBreaker from 'opossum'
import { AppError, paymentDeclined } from '@gdmarket/platform/errors'
import { CORRELATION_HEADER, INTERNAL_SECRET_HEADER } from '@gdmarket/platform/identity'
import type { Logger } from '@gdmarket/platform/logger'
import type { PaymentCallConfig } from './config.js'

export interface PaymentReceipt {
  id: string
  amount: number
  status: 'PAID' | 'CANCELLED'
}

/** One call of a reservation to payment; payment answers a repeated attempt id with what it did the first time. */
export interface Attempt {
  reservationId: string
  attemptId: string
}

export interface PaymentClient {
  /** Charges at most once per reservation (payment is idempotent by reservation id and by attempt). */
  approve(attempt: Attempt & { customerId: string; amount: number }, correlationId: string): Promise<PaymentReceipt>
  /** Refunds the reservation's payment; null when it has none. */
  refund(attempt: Attempt, correlationId: string): Promise<PaymentReceipt | null>
  /**
   * The reconciler's question for a charge whose answer was lost: payment closes the attempt if it
   * never ran (a late arrival of it is then refused) and answers the reservation's payment as it is.
   */
  close(attempt: Attempt, correlationId: string): Promise<PaymentReceipt | null>
}

/** PAYMENT_UNAVAILABLE; `notSent` when the request certainly never reached payment (circuit open, refused). */
export class PaymentUnavailable extends AppError {
  constructor(
    message: string | undefined,
    readonly notSent: boolean,
  ) {
    super('PAYMENT_UNAVAILABLE', message ?? 'payment is unavailable, try again later')
  }
}

const RECEIPT = '{ id amount status }'
const APPROVE = `mutation Approve($reservationId: ID!, $customerId: ID!, $amount: Int!, $attemptId: ID!) {
  result: approvePayment(reservationId: $reservationId, customerId: $customerId, amount: $amount, attemptId: $attemptId) ${RECEIPT}
}`
const REFUND = `mutation Refund($reservationId: ID!, $attemptId: ID!) {
  result: refundPayment(reservationId: $reservationId, attemptId: $attemptId) ${RECEIPT}
}`
const CLOSE = `mutation Close($reservationId: ID!, $attemptId: ID!) {
  result: closePaymentAttempt(reservationId: $reservationId, attemptId: $attemptId) ${RECEIPT}
}`

interface Answer {
  data?: { result: PaymentReceipt | null } | null
  errors?: { message: string; extensions?: { code?: string } }[]
}

// Payment's own refusals: it answered, so they are declines and leave the breaker alone.
const REFUSALS = new Set(['PAYMENT_DECLINED', 'BAD_USER_INPUT'])
const isDecline = (e: unknown): boolean => e instanceof AppError && e.code === 'PAYMENT_DECLINED'
const refused = (e: unknown): boolean => (e as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED'

export function createPaymentClient(
  config: PaymentCallConfig & { internalSecret: string },
  logger: Logger,
): PaymentClient {
  async function post(
    query: string,
    variables: Record<string, unknown>,
    correlationId: string,
  ): Promise<PaymentReceipt | null> {
    const res = await fetch(config.paymentUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [INTERNAL_SECRET_HEADER]: config.internalSecret,
        [CORRELATION_HEADER]: correlationId,
      },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(config.paymentTimeoutMs),
    })
    const answer = (await res.json()) as Answer
    const error = answer.errors?.[0]
    if (error) {
      if (REFUSALS.has(error.extensions?.code ?? '')) throw paymentDeclined(error.message)
      throw new Error(`payment answered ${error.extensions?.code ?? 'an error'}: ${error.message}`)
    }
    if (!res.ok || !answer.data) throw new Error(`payment answered HTTP ${res.status}`)
    return answer.data.result
  }

  const breaker = new CircuitBreaker(post, {
    timeout: false, // the fetch carries its own deadline and is aborted by it
    errorThresholdPercentage: config.breakerErrorPercent,
    resetTimeout: config.breakerResetMs,
    volumeThreshold: config.breakerVolume,
    rollingCountTimeout: config.breakerRollingMs,
    errorFilter: isDecline,
  })
  breaker.on('open', () => logger.warn({ resetMs: config.breakerResetMs }, 'payment circuit opened'))
  breaker.on('halfOpen', () => logger.info('payment circuit half-open: trying one call'))
  breaker.on('close', () => logger.info('payment circuit closed'))

  async function call(
    query: string,
    variables: Record<string, unknown>,
    correlationId: string,
  ): Promise<PaymentReceipt | null> {
    try {
      return await breaker.fire(query, variables, correlationId)
    } catch (e) {
      if (isDecline(e)) throw e
      // Rejected by the open circuit, or the connection refused: the request never left.
      const notSent = (e as { code?: string }).code === 'EOPENBREAKER' || refused(e)
      logger.warn({ err: e, open: breaker.opened, notSent }, 'payment unavailable')
      throw new PaymentUnavailable(
        breaker.opened ? 'payment is unavailable (circuit open), try again later' : undefined,
        notSent,
      )
    }
  }

  return {
    async approve(attempt, correlationId) {
      const receipt = await call(APPROVE, { ...attempt }, correlationId)
      if (!receipt) throw new PaymentUnavailable('payment answered without a payment', false)
      return receipt
    },
    refund: (attempt, correlationId) => call(REFUND, { ...attempt }, correlationId),
    close: (attempt, correlationId) => call(CLOSE, { ...attempt }, correlationId),
  }
}
