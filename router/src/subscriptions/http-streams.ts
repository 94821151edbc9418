// Subscriptions over plain HTTP on /graphql, beside graphql-ws, with the same token rules, the same
// operation limits and connection caps, and the same private fields (SubscriptionService):
// - GraphQL over SSE, distinct connections mode (graphql-sse's protocol, served by its handler):
//   a request with `Accept: text/event-stream` is one operation; `next` events, then `complete`.
// - Multipart HTTP subscriptions (Apollo's protocol, what Apollo Client's HttpLink speaks): a POST
//   with `Accept: multipart/mixed;subscriptionSpec=1.0`; each result is a part `{"payload": …}`,
//   an empty part `{}` every SUBSCRIPTION_HEARTBEAT_MS, an error that ends the subscription is
//   `{"payload": null, "errors": […]}`, and the closing boundary ends the response.
// The platform's `intercept` hook hands these requests here before Apollo Server reads the body.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { GraphQLError, getOperationAST, type ExecutionResult, type GraphQLSchema } from 'graphql'
import { createHandler, type RequestParams } from 'graphql-sse'
import type { Caller } from '@gdmarket/platform/identity'
import type { Logger } from '@gdmarket/platform/logger'
import { type TokenPolicy, callerFromAuthorization } from '../auth.js'
import type { SubscriptionLimits } from '../config.js'
import type { OperationLimits } from '../limits.js'
import { type ConnectionLimits, refusalMessage } from './connections.js'
import { checkOperation, type DocumentCache } from './documents.js'
import type { ExecuteOperation, SubscriptionService } from './serve.js'
import { textOf } from './shared.js'

export interface HttpStreamsOptions {
  service: SubscriptionService
  documents: DocumentCache
  connections: ConnectionLimits
  limits: SubscriptionLimits
  operationLimits: OperationLimits
  tokens: TokenPolicy
  apiSchema: () => GraphQLSchema | undefined
  executeOperation: ExecuteOperation
  maxBodyBytes: number
  logger: Logger
}

export interface HttpStreams {
  /** Takes an SSE or multipart subscription request (true) or leaves it to Apollo Server (false). */
  intercept(req: IncomingMessage, res: ServerResponse): boolean
  /** Completes every open stream (shutdown): clients resubscribe elsewhere from their last cursor. */
  close(): void
}

const BOUNDARY = 'graphql'
const PART = `\r\ncontent-type: application/json; charset=utf-8\r\n\r\n`

const headerOf = (req: IncomingMessage, name: string) => {
  const value = req.headers[name]
  return Array.isArray(value) ? value.join(',') : (value ?? '')
}
export const wantsSse = (req: IncomingMessage) =>
  headerOf(req, 'accept').includes('text/event-stream') && !req.headers['x-graphql-event-stream-token']
export const wantsMultipart = (req: IncomingMessage) =>
  req.method === 'POST' &&
  /multipart\/mixed/i.test(headerOf(req, 'accept')) &&
  /subscriptionspec/i.test(headerOf(req, 'accept'))

const codeError = (message: string, code: string) => new GraphQLError(message, { extensions: { code } })

export function createHttpStreams(o: HttpStreamsOptions): HttpStreams {
  const open = new Set<() => void>()

  /** The operation of one request, as graphql-ws runs it: checked, then subscribed or executed. */
  async function run(
    params: RequestParams,
    caller: Caller | null,
    onOverflow: () => void,
  ): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    const variables = (params.variables ?? undefined) as Record<string, unknown> | undefined
    const operationName = params.operationName ?? undefined
    const checked = checkOperation(o.apiSchema(), o.documents, o.operationLimits, {
      query: params.query,
      operationName,
      variables,
    })
    if ('errors' in checked) return { errors: checked.errors }
    if (getOperationAST(checked.document, operationName)?.operation !== 'subscription') {
      return o.executeOperation(
        { query: params.query, operationName, variables },
        { caller, correlationId: crypto.randomUUID(), logger: o.logger },
      )
    }
    return o.service.subscribe({
      schema: checked.schema,
      document: checked.document,
      query: params.query,
      operationName,
      variables,
      caller,
      onOverflow,
    })
  }

  /** The caller of a request, or the 401 it gets for a present but bad token. */
  async function callerOf(req: IncomingMessage): Promise<{ caller: Caller | null } | { error: GraphQLError }> {
    try {
      return { caller: await callerFromAuthorization(req.headers.authorization, o.tokens) }
    } catch (err) {
      return { error: err instanceof GraphQLError ? err : codeError('the token is not valid', 'UNAUTHENTICATED') }
    }
  }

  function refuse(res: ServerResponse, status: number, error: GraphQLError): void {
    if (status === 429) res.setHeader('retry-after', '5')
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ errors: [{ message: error.message, extensions: { code: error.extensions.code } }] }))
  }

  /** A place under the connection caps for this request, released when its response closes. */
  function admit(req: IncomingMessage, res: ServerResponse, caller: Caller | null): boolean {
    const place = o.connections.admitBoth(caller?.userId ?? `address:${req.socket.remoteAddress}`)
    if ('refused' in place) {
      const { message, code } = refusalMessage(place.refused, o.limits)
      refuse(res, place.refused === 'caller' ? 429 : 503, codeError(message, code))
      return false
    }
    res.once('close', place.release)
    return true
  }

  // graphql-sse's own handler speaks the protocol; onSubscribe does everything else, and the
  // request carries its caller from the checks above.
  const sse = createHandler<IncomingMessage, { res: ServerResponse; caller: Caller | null }>({
    authenticate: () => '', // distinct connections mode only: no reservations
    onSubscribe: async (req, params) => {
      const { res, caller } = req.context
      const result = await run(params, caller, () => res.destroy())
      // graphql-sse takes a result as one only with a `data` key.
      return Symbol.asyncIterator in result ? endingInErrors(result) : { data: null, ...result }
    },
  })

  async function serveSse(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const who = await callerOf(req)
    if ('error' in who) return refuse(res, 401, who.error)
    if (!admit(req, res, who.caller)) return
    const [body, init] = await sse({
      method: req.method ?? 'GET',
      url: req.url ?? '/graphql',
      // The handler wants exactly "text/event-stream"; a client may list more types.
      headers: { get: key => (key === 'accept' ? 'text/event-stream' : headerOf(req, key.toLowerCase()) || null) },
      body: () => readBody(req, o.maxBodyBytes),
      raw: req,
      context: { res, caller: who.caller },
    })
    res.writeHead(init.status, init.statusText, init.headers as Record<string, string>)
    if (!body || typeof body === 'string') return void res.end(body)
    const stop = () => void body.return(undefined)
    open.add(stop)
    res.once('close', stop)
    try {
      for await (const chunk of body) {
        if (!res.writable) break
        if (!res.write(chunk)) await new Promise(resolve => res.once('drain', resolve))
      }
    } finally {
      open.delete(stop)
      res.end()
    }
  }

  async function serveMultipart(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const who = await callerOf(req)
    if ('error' in who) return refuse(res, 401, who.error)
    let params: RequestParams
    try {
      params = JSON.parse(await readBody(req, o.maxBodyBytes)) as RequestParams
      if (typeof params !== 'object' || params === null) throw new Error('not an object')
    } catch (err) {
      const tooLarge = err instanceof BodyTooLarge
      return refuse(
        res,
        tooLarge ? 413 : 400,
        codeError(tooLarge ? err.message : 'request body is not a JSON object', 'BAD_USER_INPUT'),
      )
    }
    if (!admit(req, res, who.caller)) return
    const result = await run(params, who.caller, () => res.destroy())
    res.writeHead(200, {
      'content-type': `multipart/mixed;boundary="${BOUNDARY}";subscriptionSpec="1.0"`,
      'cache-control': 'no-cache',
    })
    res.write(`\r\n--${BOUNDARY}`)
    const part = (body: unknown) => res.write(`${PART}${JSON.stringify(body)}\r\n--${BOUNDARY}`)
    const end = () => {
      if (res.writable) res.end('--\r\n')
    }
    if (!(Symbol.asyncIterator in result)) {
      part({ payload: result })
      return end()
    }
    const heartbeat = setInterval(() => part({}), o.limits.heartbeatMs)
    const stop = () => void result.return?.()
    open.add(stop)
    res.once('close', stop)
    try {
      for await (const next of result) {
        if (!res.writable) break
        // The result's text is shared by every subscriber that gets the same result.
        const written = res.write(`${PART}{"payload":${textOf(next)}}\r\n--${BOUNDARY}`)
        if (!written) await new Promise(resolve => res.once('drain', resolve))
      }
    } catch (err) {
      const error = err instanceof GraphQLError ? err : codeError('the subscription failed', 'SERVICE_UNAVAILABLE')
      if (res.writable)
        part({ payload: null, errors: [{ message: error.message, extensions: { code: error.extensions.code } }] })
    } finally {
      clearInterval(heartbeat)
      open.delete(stop)
      end()
    }
  }

  const serve = (handler: typeof serveSse, req: IncomingMessage, res: ServerResponse) =>
    void handler(req, res).catch(err => {
      o.logger.error({ err }, 'subscription stream failed')
      if (!res.headersSent) refuse(res, 500, codeError('Internal server error', 'INTERNAL_SERVER_ERROR'))
      else res.destroy()
    })

  return {
    intercept(req, res) {
      if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/graphql') return false
      const handler = wantsSse(req) ? serveSse : wantsMultipart(req) ? serveMultipart : undefined
      if (!handler) return false
      serve(handler, req, res)
      return true
    },
    close() {
      for (const stop of [...open]) stop()
    },
  }
}

/**
 * An SSE stream ends an errored subscription with a last `next` carrying the error (its contract
 * code, CURSOR_EXPIRED…), then `complete`: graphql-sse would otherwise just drop the connection.
 */
function endingInErrors(inner: AsyncIterableIterator<ExecutionResult>): AsyncIterableIterator<ExecutionResult> {
  let failed = false
  const done = { value: undefined, done: true } as const
  const iterator: AsyncIterableIterator<ExecutionResult> = {
    next: async () => {
      if (failed) return done
      try {
        return await inner.next()
      } catch (err) {
        failed = true
        const error = err instanceof GraphQLError ? err : codeError('the subscription failed', 'SERVICE_UNAVAILABLE')
        return { value: { errors: [error] }, done: false }
      }
    },
    return: async () => (await inner.return?.()) ?? done,
    [Symbol.asyncIterator]: () => iterator,
  }
  return iterator
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        req.removeAllListeners('data')
        req.resume()
        reject(new BodyTooLarge(`request body over ${limit} bytes`))
        return
      }
      chunks.push(chunk)
    })
    req.once('error', reject)
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
  })
}
