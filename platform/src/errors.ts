// The contract's error codes. Domain code throws AppError; the GraphQL layer turns it into an
// error whose extensions.code is the code, and hides anything unexpected behind INTERNAL_SERVER_ERROR.
export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'CONFLICT',
  'PAYMENT_DECLINED',
  'PAYMENT_UNAVAILABLE',
  'SERVICE_UNAVAILABLE',
] as const
export type ErrorCode = (typeof ERROR_CODES)[number]

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'AppError'
  }
}

export const unauthenticated = (m = 'a valid token is required') => new AppError('UNAUTHENTICATED', m)
export const forbidden = (m: string) => new AppError('FORBIDDEN', m)
export const badInput = (m: string) => new AppError('BAD_USER_INPUT', m)
export const notFound = (m: string) => new AppError('NOT_FOUND', m)
export const conflict = (m: string) => new AppError('CONFLICT', m)
export const paymentDeclined = (m: string) => new AppError('PAYMENT_DECLINED', m)
export const paymentUnavailable = (m = 'payment is unavailable, try again later') =>
  new AppError('PAYMENT_UNAVAILABLE', m)
export const serviceUnavailable = (m = 'a service this needs is unavailable, try again later') =>
  new AppError('SERVICE_UNAVAILABLE', m)

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i

/** Ids are UUIDs; anything else is BAD_USER_INPUT before it reaches a database. */
export function requireId(value: string, what = 'id'): string {
  if (!UUID.test(value)) throw badInput(`${what} must be a UUID`)
  return value.toLowerCase()
}

/**
 * The id of an entity reference (`_entities`), or null when it is not a UUID: a malformed
 * reference names nothing, so it resolves to null without failing the rest of the plan, and
 * never reaches a database.
 */
export function referenceId(value: unknown): string | null {
  return typeof value === 'string' && UUID.test(value) ? value.toLowerCase() : null
}
