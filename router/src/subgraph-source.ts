// One data source per subgraph. It forwards who is calling (verified by the router, trusted by the
// subgraphs only beside the internal secret) and the correlation id, and turns transport failures
// into clean GraphQL errors so a client never sees a socket error, a url or a stack trace.
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway'
import { GraphQLError } from 'graphql'
import { CORRELATION_HEADER, IDENTITY_HEADER, INTERNAL_SECRET_HEADER, encodeCaller } from '@gdmarket/platform/identity'
import { IDEMPOTENCY_HEADER } from '@gdmarket/platform/idempotency'
import type { Logger } from '@gdmarket/platform/logger'
import type { RouterContext } from './context.js'
import { SubgraphUnreachableError, type Fetcher } from './subgraph-fetch.js'

type FetcherResponse = Parameters<RemoteGraphQLDataSource['errorFromResponse']>[0]

export interface SubgraphSourceOptions {
  name: string
  url: string
  fetcher: Fetcher
  internalSecret: string
  logger: Logger
}

/** The error a client sees when a subgraph cannot answer; payment has its own contract code. */
export function unavailableError(subgraph: string): GraphQLError {
  if (subgraph === 'payment')
    return new GraphQLError('payment is unavailable, try again later', { extensions: { code: 'PAYMENT_UNAVAILABLE' } })
  return new GraphQLError(`the ${subgraph} service is unavailable, try again later`, {
    extensions: { code: 'SERVICE_UNAVAILABLE' },
  })
}

/** Mutations that call payment on their way (a charge, or a refund of whatever charge exists). */
const PAYING_MUTATIONS = new Set(['payReservation', 'cancelPayment', 'cancelReservation'])
/** Failures before the request could reach the subgraph: it did nothing. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'])
const ROOT_FIELD = /^\s*mutation\b[^{]*\{\s*(?:\w+\s*:\s*)?(\w+)/

/**
 * Whether the subgraph may have acted on a request it never answered: it was sent (the connection
 * broke, or no answer came in time), and it is a mutation that calls payment. Its caller is then
 * told what the contract says of PAYMENT_UNAVAILABLE: payment may have acted, and the reservation
 * shows what it really did within 10 s. SERVICE_UNAVAILABLE would promise that nothing changed.
 */
export function mayHavePaid(error: unknown, request: { query?: string } | undefined): boolean {
  if (!(error instanceof SubgraphUnreachableError)) return false
  const code = (error.cause as { code?: unknown } | undefined)?.code
  if (typeof code === 'string' && NOT_SENT.has(code)) return false
  const field = ROOT_FIELD.exec(request?.query ?? '')?.[1]
  return field !== undefined && PAYING_MUTATIONS.has(field)
}

export class SubgraphDataSource extends RemoteGraphQLDataSource<RouterContext> {
  private readonly subgraph: string
  private readonly internalSecret: string
  private readonly log: Logger

  constructor({ name, url, fetcher, internalSecret, logger }: SubgraphSourceOptions) {
    super({ url, fetcher })
    this.subgraph = name
    this.internalSecret = internalSecret
    this.log = logger.child({ subgraph: name })
  }

  override willSendRequest(options: GraphQLDataSourceProcessOptions<RouterContext>): void {
    const headers = options.request.http?.headers
    if (!headers) return
    // Only the router sets these; never let anything upstream of it choose an identity.
    headers.delete(IDENTITY_HEADER)
    headers.set(INTERNAL_SECRET_HEADER, this.internalSecret)
    if (!('incomingRequestContext' in options)) return
    const { caller, correlationId, idempotencyKey } = options.context
    if (caller) headers.set(IDENTITY_HEADER, encodeCaller(caller))
    headers.set(CORRELATION_HEADER, correlationId)
    // Every subgraph request of the operation carries it; only mutations record or replay by it.
    if (idempotencyKey) headers.set(IDEMPOTENCY_HEADER, idempotencyKey)
  }

  /** A non-2xx answer that is still a GraphQL response keeps the subgraph's message and code. */
  override async errorFromResponse(response: FetcherResponse): Promise<GraphQLError> {
    const first = firstGraphQLError(await response.text().catch(() => ''))
    if (first) return new GraphQLError(first.message, { extensions: { code: first.code } })
    this.log.warn({ status: response.status }, 'subgraph answered without a GraphQL response')
    return unavailableError(this.subgraph)
  }

  override didEncounterError(
    error: Error,
    _fetchRequest?: unknown,
    _response?: unknown,
    context?: RouterContext,
    request?: { query?: string },
  ): void {
    if (error instanceof GraphQLError)
      throw error
      // The request's logger carries the correlation id, so this line joins the client's request.
    ;(context?.logger ?? this.log).warn({ err: error, subgraph: this.subgraph }, 'subgraph unreachable')
    if (mayHavePaid(error, request))
      throw new GraphQLError('the answer was lost: payment may have acted; the reservation shows what it did', {
        extensions: { code: 'PAYMENT_UNAVAILABLE' },
      })
    throw unavailableError(this.subgraph)
  }
}

function firstGraphQLError(body: string): { message: string; code: string } | null {
  try {
    const parsed: unknown = JSON.parse(body)
    if (typeof parsed !== 'object' || parsed === null || !('errors' in parsed) || !Array.isArray(parsed.errors))
      return null
    const [first]: unknown[] = parsed.errors
    if (typeof first !== 'object' || first === null || !('message' in first) || typeof first.message !== 'string')
      return null
    const extensions =
      'extensions' in first && typeof first.extensions === 'object' && first.extensions !== null ? first.extensions : {}
    const code = 'code' in extensions && typeof extensions.code === 'string' ? extensions.code : 'INTERNAL_SERVER_ERROR'
    return { message: first.message, code }
  } catch {
    return null
  }
}
