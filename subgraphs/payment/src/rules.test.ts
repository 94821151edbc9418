import { describe, expect, it } from '@jest/globals'
import { thrownCode } from '../../../test/thrown.js'
import { approvalAction, assertInternal, refundAction, validateApproval } from './rules.js'

const reservationId = '3f0c1f5e-8a4b-4c1e-9d2a-5b6c7d8e9f01'

describe('payment rules', () => {
  it('accepts a well-formed approval and normalises it', () => {
    expect(
      validateApproval({ reservationId: reservationId.toUpperCase(), customerId: ' u1 ', amount: 500 }, 1000),
    ).toEqual({ reservationId, customerId: 'u1', amount: 500 })
  })

  it('accepts a free rental and the limit itself', () => {
    expect(validateApproval({ reservationId, customerId: 'u1', amount: 0 }, 1000).amount).toBe(0)
    expect(validateApproval({ reservationId, customerId: 'u1', amount: 1000 }, 1000).amount).toBe(1000)
  })

  it('refuses malformed input as BAD_USER_INPUT', () => {
    expect(thrownCode(() => validateApproval({ reservationId: 'nope', customerId: 'u1', amount: 1 }, 1000))).toBe(
      'BAD_USER_INPUT',
    )
    expect(thrownCode(() => validateApproval({ reservationId, customerId: '  ', amount: 1 }, 1000))).toBe(
      'BAD_USER_INPUT',
    )
    expect(thrownCode(() => validateApproval({ reservationId, customerId: 'u1', amount: -1 }, 1000))).toBe(
      'BAD_USER_INPUT',
    )
    expect(thrownCode(() => validateApproval({ reservationId, customerId: 'u1', amount: 1.5 }, 1000))).toBe(
      'BAD_USER_INPUT',
    )
  })

  it('declines an amount over the limit', () => {
    expect(thrownCode(() => validateApproval({ reservationId, customerId: 'u1', amount: 1001 }, 1000))).toBe(
      'PAYMENT_DECLINED',
    )
  })

  it('lets only internal callers move money', () => {
    expect(thrownCode(() => assertInternal(false))).toBe('FORBIDDEN')
    expect(thrownCode(() => assertInternal(true))).toBeUndefined()
  })

  it('charges once per reservation and charges a refunded one again', () => {
    expect(approvalAction(null)).toBe('charge')
    expect(approvalAction({ status: 'PAID' })).toBe('keep')
    expect(approvalAction({ status: 'CANCELLED' })).toBe('recharge')
  })

  it('refunds only what is paid', () => {
    expect(refundAction(null)).toBe('none')
    expect(refundAction({ status: 'PAID' })).toBe('refund')
    expect(refundAction({ status: 'CANCELLED' })).toBe('keep')
  })
})
