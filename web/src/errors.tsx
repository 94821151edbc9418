// Every failure in words a person understands, from the contract's error codes.
import { CombinedGraphQLErrors, ServerError } from '@apollo/client/errors'

const WORDS: Record<string, string> = {
  UNAUTHENTICATED: 'You are not signed in, or your sign-in has expired. Please sign in again.',
  FORBIDDEN: 'You are not allowed to do that with this account.',
  BAD_USER_INPUT: 'Something in what you entered is not valid.',
  NOT_FOUND: 'That no longer exists.',
  CONFLICT: 'That is not possible right now: it changed meanwhile.',
  PAYMENT_DECLINED: 'The payment was declined.',
  PAYMENT_UNAVAILABLE: 'Payment is unavailable right now. Please try again later.',
  SERVICE_UNAVAILABLE: 'Part of GDmarket is unavailable right now. Please try again later.',
  QUERY_TOO_COMPLEX: 'That request is too large.',
  RATE_LIMITED: 'Too many requests. Please wait a moment and try again.',
  CURSOR_EXPIRED: 'The live view fell too far behind and is reloading.',
}

/** The contract code of an Apollo error, if it carries one. */
export function errorCode(error: unknown): string | undefined {
  if (CombinedGraphQLErrors.is(error)) return error.errors[0]?.extensions?.code as string | undefined
  if (ServerError.is(error) && error.statusCode === 429) return 'RATE_LIMITED'
  return undefined
}

/** A sentence for the person: the code's words, with the server's detail for invalid input. */
export function describeError(error: unknown): string {
  const code = errorCode(error)
  if (code === 'BAD_USER_INPUT' && CombinedGraphQLErrors.is(error))
    return `${WORDS.BAD_USER_INPUT} (${error.errors[0].message})`
  if (code && WORDS[code]) return WORDS[code]
  return 'GDmarket cannot be reached right now. Please check your connection and try again.'
}

export function ErrorNote({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (!error) return null
  return (
    <p className="error" role="alert">
      {describeError(error)}{' '}
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </p>
  )
}
