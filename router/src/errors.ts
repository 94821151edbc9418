// The router's error policy on top of the platform's: every error a client can cause carries one of
// the contract's codes. Apollo Server's own request-level codes (BAD_REQUEST for a malformed HTTP
// request, OPERATION_RESOLUTION_FAILURE / the gateway's INVALID_GRAPHQL for an unknown operationName) become BAD_USER_INPUT; an
// operation refused by a limit keeps QUERY_TOO_COMPLEX although Apollo reports it as a validation
// or parse failure. Apollo's GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED stay (the contract
// allows them), and so does PERSISTED_QUERY_NOT_FOUND, which Apollo Client's persisted-query link
// needs to send the full query.
import type { GraphQLFormattedError } from 'graphql'
import { GraphQLError } from 'graphql'
import { LIMIT_ENV, isTokenLimitError } from './limits.js'

type FormatError = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError

// INVALID_GRAPHQL is the gateway's (an operationName the document does not define).
const REQUEST_CODES = new Set([
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'INVALID_GRAPHQL',
])

const originalCode = (error: unknown): unknown =>
  error instanceof GraphQLError && error.originalError instanceof GraphQLError
    ? error.originalError.extensions.code
    : undefined

const clientStatus = (error: unknown): boolean => {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : undefined
  const status = (original instanceof GraphQLError ? original.extensions.http : undefined) as
    | { status?: number }
    | undefined
  return typeof status?.status === 'number' && status.status >= 400 && status.status < 500
}

/** Rewrites Apollo's codes into the contract's, then formats as `base` does (stack traces hidden outside development). */
export function withContractCodes(base: FormatError): FormatError {
  return (formatted, error) => base(contractCodes(formatted, error), error)
}

export function contractCodes(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const code = formatted.extensions?.code
  const recode = (to: string, extra: Record<string, unknown> = {}) => ({
    ...formatted,
    extensions: { ...formatted.extensions, ...extra, code: to },
  })
  if (code === 'GRAPHQL_VALIDATION_FAILED' && originalCode(error) === 'QUERY_TOO_COMPLEX')
    return recode('QUERY_TOO_COMPLEX')
  if (code === 'GRAPHQL_PARSE_FAILED' && isTokenLimitError(formatted.message)) {
    // graphql words it as a syntax error ("Document contains more that N tokens"); it is a limit.
    const max = /(\d+) tokens/.exec(formatted.message)?.[1]
    return {
      ...recode('QUERY_TOO_COMPLEX', { limit: LIMIT_ENV.maxTokens }),
      message: `the document has more than ${max} tokens; at most ${max} are allowed`,
    }
  }
  if (typeof code === 'string' && REQUEST_CODES.has(code)) return recode('BAD_USER_INPUT')
  // Apollo refuses some requests with an HTTP 4xx but no code (a persisted-query hash that does not
  // match its query), which would otherwise be shown as INTERNAL_SERVER_ERROR.
  if (code === 'INTERNAL_SERVER_ERROR' && clientStatus(error)) return recode('BAD_USER_INPUT')
  return formatted
}
