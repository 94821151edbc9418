// Tells a passing outage (a database or a service that is down, a connection dropped, a lock
// conflict) from a failure no retry can fix. Consumers pause on the first kind and dead-letter only
// the second; the GraphQL layer answers SERVICE_UNAVAILABLE for the first instead of hiding it
// behind INTERNAL_SERVER_ERROR.
import { AppError } from './errors.js'

/** Prisma's codes for an unreachable or overloaded database, a dropped connection, a write conflict. */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028', 'P2034'])
/** What @prisma/driver-adapter-utils reports when the database cannot be used right now. */
const ADAPTER_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TransactionWriteConflict',
  'TransactionAlreadyClosed',
])
/** Node socket errors and PostgreSQL SQLSTATEs: connection exceptions (08), shutdown (57P0x), too many connections, serialization and deadlock. */
const ERRNO_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
])
const SQLSTATES = /^(08...|57P0[123]|53300|40001|40P01)$/
const MESSAGES =
  /connection terminated|connection timeout|timeout exceeded when trying to connect|can't reach database|server has closed the connection|connection (is )?closed|socket hang up|database system is (starting up|shutting down)|the database system is in recovery|unable to start a transaction in the given time|transaction already closed|query read timeout/i

/** True when `err` (or what caused it) says something needed is down for now: retry later, never give up on it. */
export function isOutage(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 5) return false
  if (err instanceof AppError) return err.code === 'SERVICE_UNAVAILABLE' || err.code === 'PAYMENT_UNAVAILABLE'
  const e = err as {
    code?: unknown
    kind?: unknown
    message?: unknown
    cause?: unknown
    originalCode?: unknown
    meta?: { driverAdapterError?: unknown }
  }
  if (typeof e.code === 'string' && (PRISMA_CODES.has(e.code) || ERRNO_CODES.has(e.code) || SQLSTATES.test(e.code)))
    return true
  if (typeof e.kind === 'string' && ADAPTER_KINDS.has(e.kind)) return true
  if (typeof e.originalCode === 'string' && SQLSTATES.test(e.originalCode)) return true
  if (typeof e.message === 'string' && MESSAGES.test(e.message)) return true
  return isOutage(e.meta?.driverAdapterError, depth + 1) || isOutage(e.cause, depth + 1)
}
