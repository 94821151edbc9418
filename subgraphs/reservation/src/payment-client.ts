// The synchronous call to the payment subgraph: HTTP with the internal secret and the request's
// correlation id, a deadline, and a circuit breaker so a slow or dead payment subgraph costs callers
// nothing once it is known to be failing. A decline is an answer, not a failure of payment.
import CircuitBreaker from 'opossum'
import { AppError, paymentDeclined, paymentUnavailable } from '@gdmarket/platform/errors'
import { CORRELATION_HEADER, INTERNAL_SECRET_HEADER } from '@gdmarket/platform/identity'
import type { Logger } from '@gdmarket/platform/logger'
import type { PaymentCallConfig } from './config.js'

export interface PaymentReceipt {
  id: string
  amount: number
  status: 'PAID' | 'CANCELLED'
}

export interface PaymentClient {
  /** Charges at most once per reservation (payment is idempotent by reservation id). */
  approve(reservationId: string, customerId: string, amount: number, correlationId: string): Promise<PaymentReceipt>
  /** Refunds the reservation's payment; null when it has none. */
  refund(reservationId: string, correlationId: string): Promise<PaymentReceipt | null>
}

const APPROVE = `mutation Approve($reservationId: ID!, $customerId: ID!, $amount: Int!) {
  result: approvePayment(reservationId: $reservationId, customerId: $customerId, amount: $amount) { id amount status }
}`
const REFUND = `mutation Refund($reservationId: ID!) { result: refundPayment(reservationId: $reservationId) { id amount status } }`

interface Answer {
  data?: { result: PaymentReceipt | null } | null
  errors?: { message: string; extensions?: { code?: string } }[]
}

// Payment's own refusals: it answered, so they are declines and leave the breaker alone.
const REFUSALS = new Set(['PAYMENT_DECLINED', 'BAD_USER_INPUT'])
const isDecline = (e: unknown): boolean => e instanceof AppError && e.code === 'PAYMENT_DECLINED'

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
      logger.warn({ err: e, open: breaker.opened }, 'payment unavailable')
      throw paymentUnavailable(breaker.opened ? 'payment is unavailable (circuit open), try again later' : undefined)
    }
  }

  return {
    async approve(reservationId, customerId, amount, correlationId) {
      const receipt = await call(APPROVE, { reservationId, customerId, amount }, correlationId)
      if (!receipt) throw paymentUnavailable('payment answered without a payment')
      return receipt
    },
    refund: (reservationId, correlationId) => call(REFUND, { reservationId }, correlationId),
  }
}
