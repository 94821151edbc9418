import { expect, it } from '@jest/globals'
import { AppError, badInput, serviceUnavailable } from './errors.js'
import { isOutage } from './outage.js'

it('recognises a database or service that is down for now', () => {
  expect(isOutage(Object.assign(new Error("Can't reach database server at 127.0.0.1:5432"), { code: 'P1001' }))).toBe(
    true,
  )
  expect(isOutage(new Error('Connection terminated unexpectedly'))).toBe(true)
  expect(isOutage(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true)
  expect(isOutage(Object.assign(new Error('terminating connection'), { code: '57P01' }))).toBe(true)
  expect(isOutage(new Error('wrapped', { cause: { kind: 'DatabaseNotReachable' } }))).toBe(true)
  expect(isOutage({ message: 'x', meta: { driverAdapterError: { cause: { kind: 'ConnectionClosed' } } } })).toBe(true)
  expect(isOutage(serviceUnavailable())).toBe(true)
  expect(isOutage(new Error('Transaction API error: Unable to start a transaction in the given time.'))).toBe(true)
  expect(isOutage(new AppError('PAYMENT_UNAVAILABLE', 'down'))).toBe(true)
  // pg itself, for the statements a service runs without Prisma (statements.ts)
  expect(isOutage(new Error('Query read timeout'))).toBe(true)
  expect(isOutage(new Error('timeout exceeded when trying to connect'))).toBe(true)
})

it('leaves failures no retry can fix alone', () => {
  expect(isOutage(new Error('not an event envelope'))).toBe(false)
  expect(isOutage(new TypeError("Cannot read properties of undefined (reading 'itemId')"))).toBe(false)
  expect(isOutage(badInput('price must be positive'))).toBe(false)
  expect(isOutage(Object.assign(new Error('Unique constraint failed'), { code: 'P2002' }))).toBe(false)
  expect(isOutage(Object.assign(new Error('invalid input syntax for type uuid'), { code: '22P02' }))).toBe(false)
  expect(isOutage(undefined)).toBe(false)
})
