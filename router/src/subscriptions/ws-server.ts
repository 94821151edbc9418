// graphql-transport-ws on the router's own HTTP server and path (/graphql), so Sandbox, graphql-ws
// clients and Apollo Client's GraphQLWsLink use one endpoint. The token comes in connection_init
// and is verified like an HTTP Authorization header; queries and mutations sent over the socket go
// through Apollo Server exactly like HTTP ones (same identity rules, limits and error format).
import { randomUUID } from 'node:crypto'
import type http from 'node:http'
import type { Socket } from 'node:net'
import { GraphQLError, type ExecutionArgs, type ExecutionResult, type GraphQLSchema } from 'graphql'
import { WebSocketServer, type WebSocket } from 'ws'
import type { Context } from 'graphql-ws'
import { type Extra, useServer } from 'graphql-ws/use/ws'
import type { Caller } from '@gdmarket/platform/identity'
import type { Logger } from '@gdmarket/platform/logger'
import { type TokenPolicy, callerFromAuthorization } from '../auth.js'
import type { RouterContext } from '../context.js'
import type { SubscriptionLimits } from '../config.js'
import { checkOperationLimits, type OperationLimits } from '../limits.js'
import { forbiddenCharacterError } from '../plugins.js'
import { type ConnectionLimits, refusalMessage } from './connections.js'
import type { DocumentCache } from './documents.js'
import { SubscriberQueue } from './queue.js'
import type { SubscriptionService } from './serve.js'
import { writeToSocket } from './ws-sink.js'

export interface WsServerOptions {
  httpServer: http.Server
  limits: SubscriptionLimits & { maxConnections: number; maxPerCaller: number }
  /** The same operation limits as HTTP (limits.ts). */
  operationLimits: OperationLimits
  tokens: TokenPolicy
  logger: Logger
  apiSchema: () => GraphQLSchema | undefined
  documents: DocumentCache
  service: SubscriptionService
  connections: ConnectionLimits
  /** Runs a query or mutation like an HTTP request would. */
  executeOperation: (
    request: { query: string; operationName?: string; variables?: Record<string, unknown> },
    context: RouterContext,
  ) => Promise<ExecutionResult>
}

/** What one operation on one socket carries from onSubscribe to execute/subscribe. */
class WsOperation {
  constructor(
    readonly id: string,
    readonly query: string,
    readonly authorization: string | undefined,
    readonly socket: WebSocket,
    readonly tcp: Socket | undefined,
  ) {}
}

/** "Bearer <jwt>" or a bare token, under `authorization` (any case) in the connection_init payload. */
export function authorizationFrom(params: Record<string, unknown> | undefined): string | undefined {
  const entry = Object.entries(params ?? {}).find(([k]) => k.toLowerCase() === 'authorization')
  const value = typeof entry?.[1] === 'string' ? entry[1].trim() : ''
  if (value === '') return undefined
  return /^bearer\s/i.test(value) ? value : `Bearer ${value}`
}

/** How long sockets get to complete the close handshake on shutdown. */
const CLOSE_HANDSHAKE_MS = 2_000

const badRequest = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } })

/** What connect() keeps on each socket for its operations. */
type SocketExtra = { authorization: string | undefined; tcp: Socket | undefined }
type WsContext = Context<Record<string, unknown>, Extra & Partial<SocketExtra>>

/** Attaches graphql-ws; close() ends every socket with 1001 so clients reconnect to another instance. */
export function attachWsServer(options: WsServerOptions): { close: () => Promise<void> } {
  // No permessage-deflate: frames are written whole on the TCP socket (ws-sink.ts), and compressing
  // per subscriber would cost more than the shared serialisation saves.
  const wss = new WebSocketServer({
    server: options.httpServer,
    path: '/graphql',
    maxPayload: 1024 * 1024,
    perMessageDeflate: false,
  })
  wss.on('connection', socket => admitSocket(socket, options))
  const server = useServer<Record<string, unknown>, SocketExtra>(
    {
      connectionInitWaitTimeout: options.limits.initTimeoutMs,
      onConnect: ctx => connect(ctx, options),
      onSubscribe: (ctx, id, payload) =>
        checkOperation(ctx.extra, Object.keys(ctx.subscriptions).length, id, payload, options),
      execute: args => execute(args, options),
      subscribe: args => subscribe(args, options),
    },
    wss,
    options.limits.keepAliveMs,
  )
  return {
    close: async () => {
      const open = [...wss.clients]
      // Every socket is told "going away": graphql-ws clients reconnect (to another instance) and
      // resubscribe. dispose() resolves once every socket has closed; one that does not answer the
      // close handshake is terminated rather than holding the shutdown for ws's 30 s.
      const disposed = Promise.resolve(server.dispose())
      const timer = setTimeout(() => {
        for (const s of open) s.terminate()
      }, CLOSE_HANDSHAKE_MS)
      await disposed.finally(() => clearTimeout(timer))
    },
  }
}

/** Before graphql-ws sees it: a socket over the router's cap is told to try again later (1013). */
function admitSocket(socket: WebSocket, { connections, limits }: WsServerOptions): void {
  const place = connections.admit()
  if ('refused' in place) {
    closeSoon(socket, 1013, refusalMessage(place.refused, limits).message)
    return
  }
  socket.once('close', place.release)
}

/** Closes with `code`; a client that is not reading never completes the handshake, so it is terminated shortly after. */
function closeSoon(socket: WebSocket, code: number, reason: string): void {
  socket.close(code, reason.slice(0, 120))
  setTimeout(() => socket.terminate(), 1000).unref()
}

/** connection_init: the token is verified and the caller admitted under its per-caller cap. */
async function connect(ctx: WsContext, { tokens, connections, limits }: WsServerOptions): Promise<boolean> {
  const authorization = authorizationFrom(ctx.connectionParams)
  let caller: Caller | null
  try {
    caller = await callerFromAuthorization(authorization, tokens)
  } catch {
    return false // graphql-ws closes with 4403 Forbidden
  }
  const place = connections.admitCaller(caller?.userId ?? `address:${ctx.extra.request.socket.remoteAddress}`)
  if ('refused' in place) {
    // 4429: graphql-ws clients do not retry it.
    ctx.extra.socket.close(4429, refusalMessage(place.refused, limits).message.slice(0, 120))
    return false
  }
  ctx.extra.socket.once('close', place.release)
  ctx.extra.authorization = authorization
  // The TCP socket ws writes to, corked while a replay's batch is written.
  ctx.extra.tcp = ctx.extra.request.socket
  // The upgrade request (headers, parser state) is not needed past here: not kept per socket.
  Reflect.set(ctx.extra, 'request', undefined)
  return true
}

/** subscribe message: the same document cache, operation limits and input checks as HTTP. */
function checkOperation(
  extra: WsContext['extra'],
  running: number,
  id: string,
  payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null },
  options: WsServerOptions,
): ExecutionArgs | readonly GraphQLError[] {
  const { limits } = options
  if (running > limits.maxPerSocket) return [badRequest(`at most ${limits.maxPerSocket} operations per connection`)]
  const schema = options.apiSchema()
  if (!schema)
    return [new GraphQLError('the supergraph is not loaded yet', { extensions: { code: 'SERVICE_UNAVAILABLE' } })]
  const checked = options.documents.get(schema, payload.query)
  if ('errors' in checked) return checked.errors
  const refused = checkOperationLimits(schema, checked.document, options.operationLimits, payload)
  if (refused.length) return refused
  const forbidden = forbiddenCharacterError(checked.document, payload.variables)
  if (forbidden) return [forbidden]
  return {
    schema,
    document: checked.document,
    operationName: payload.operationName ?? undefined,
    variableValues: payload.variables ?? undefined,
    contextValue: new WsOperation(id, payload.query, extra.authorization, extra.socket, extra.tcp),
  }
}

function operationOf(args: ExecutionArgs): WsOperation {
  if (!(args.contextValue instanceof WsOperation)) throw new Error('operation without its socket context')
  return args.contextValue
}

/** Checked again per operation: a socket may outlive its token. */
async function reverify(operation: WsOperation, tokens: TokenPolicy): Promise<Caller | null | GraphQLError> {
  try {
    return await callerFromAuthorization(operation.authorization, tokens)
  } catch (err) {
    if (err instanceof GraphQLError) return err
    return new GraphQLError(err instanceof Error ? err.message : 'the token is not valid', {
      extensions: { code: 'UNAUTHENTICATED' },
    })
  }
}

/** A query or mutation over the socket: through Apollo Server like an HTTP request. */
async function execute(args: ExecutionArgs, { tokens, logger, executeOperation }: WsServerOptions) {
  const operation = operationOf(args)
  const caller = await reverify(operation, tokens)
  if (caller instanceof GraphQLError) return { errors: [caller] }
  const correlationId = randomUUID()
  return executeOperation(
    {
      query: operation.query,
      operationName: args.operationName ?? undefined,
      variables: args.variableValues ?? undefined,
    },
    { caller, correlationId, logger: logger.child({ correlationId }) },
  )
}

/** A subscription: its queue is written to the socket; an overflow cuts the slow subscriber off. */
async function subscribe(args: ExecutionArgs, { tokens, logger, limits, service }: WsServerOptions) {
  const operation = operationOf(args)
  const caller = await reverify(operation, tokens)
  if (caller instanceof GraphQLError) return { errors: [caller] }
  const { id, query, socket, tcp } = operation
  const subscribed = await service.subscribe({
    schema: args.schema,
    document: args.document,
    query,
    operationName: args.operationName ?? undefined,
    variables: args.variableValues as Record<string, unknown> | undefined,
    caller,
    onOverflow: () => {
      if (socket.readyState !== socket.OPEN) return
      logger.warn({ bufferSize: limits.bufferSize }, 'closing a subscriber that fell behind')
      closeSoon(socket, 1013, 'subscriber too slow')
    },
  })
  return subscribed instanceof SubscriberQueue ? writeToSocket(subscribed, socket, tcp, id) : subscribed
}
