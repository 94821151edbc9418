// One GDmarket process asking another synchronously (not through the router): GraphQL over HTTP
// with the internal secret, the request's correlation id and, when a person is behind it, the caller
// the router vouched for, under a deadline. The callee's contract errors come back as the same
// AppError; a callee that cannot be reached or does not answer in time is `unreachable`.
import { AppError, ERROR_CODES, type ErrorCode } from './errors.js'
import { CORRELATION_HEADER, IDENTITY_HEADER, INTERNAL_SECRET_HEADER, encodeCaller, type Caller } from './identity.js'

const CODES = new Set<string>(ERROR_CODES)

/** The callee did not answer: refused, timed out, or answered something that is not GraphQL. */
export class UnreachableError extends Error {
  override name = 'UnreachableError'
  constructor(
    message: string,
    /** True only when the request certainly never reached the callee (connection refused). */
    readonly notSent: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

export interface InternalCall {
  url: string
  internalSecret: string
  timeoutMs: number
  correlationId: string
  caller?: Caller | null
}

interface Answer<T> {
  data?: T | null
  errors?: { message: string; extensions?: { code?: string } }[]
}

const refused = (e: unknown): boolean => {
  const cause = (e as { cause?: { code?: string } })?.cause
  return cause?.code === 'ECONNREFUSED'
}

/** Runs `query` at another subgraph; its data, or the AppError it answered, or UnreachableError. */
export async function callSubgraph<T>(
  call: InternalCall,
  query: string,
  variables: Record<string, unknown>,
): Promise<T> {
  let res: Response
  let answer: Answer<T>
  try {
    res = await fetch(call.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [INTERNAL_SECRET_HEADER]: call.internalSecret,
        [CORRELATION_HEADER]: call.correlationId,
        ...(call.caller ? { [IDENTITY_HEADER]: encodeCaller(call.caller) } : {}),
      },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(call.timeoutMs),
    })
    answer = (await res.json()) as Answer<T>
  } catch (e) {
    throw new UnreachableError(`${call.url} did not answer: ${(e as Error).message}`, refused(e), { cause: e })
  }
  const error = answer.errors?.[0]
  if (error) {
    const code = error.extensions?.code as ErrorCode | undefined
    if (code && CODES.has(code)) throw new AppError(code, error.message)
    throw new UnreachableError(`${call.url} answered ${code ?? 'an error'}: ${error.message}`, false)
  }
  if (!res.ok || !answer.data) throw new UnreachableError(`${call.url} answered HTTP ${res.status}`, false)
  return answer.data
}
