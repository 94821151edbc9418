// graphql-transport-ws on the router's own HTTP server and path (/graphql), so Sandbox, graphql-ws
// clients and Apollo Client's GraphQLWsLink use one endpoint. The router speaks WebSocket itself on
// the upgraded socket (websocket.ts, ws-connection.ts): a subscriber costs its TCP socket, one small
// connection object and its operation, not a WebSocket with reader and writer streams plus a
// protocol library's state. The token comes in connection_init and is verified like an HTTP
// Authorization header; queries and mutations sent over the socket go through Apollo Server exactly
// like HTTP ones (same identity rules, limits and error format).
import { randomUUID } from 'node:crypto'
import type http from 'node:http'
import type { Socket } from 'node:net'
import { GraphQLError, getOperationAST, type ExecutionResult, type GraphQLSchema } from 'graphql'
import type { Caller } from '@gdmarket/platform/identity'
import type { Logger } from '@gdmarket/platform/logger'
import { type TokenPolicy, callerFromAuthorization } from '../auth.js'
import type { RouterContext } from '../context.js'
import type { SubscriptionLimits } from '../config.js'
import type { OperationLimits } from '../limits.js'
import { type ConnectionLimits, refusalMessage } from './connections.js'
import { checkOperation, type DocumentCache } from './documents.js'
import { SubscriberQueue } from './queue.js'
import type { SubscriptionService } from './serve.js'
import { acceptResponse, checkHandshake, type Handshake, refuseUpgrade } from './websocket.js'
import { type ConnectionHost, WsConnection } from './ws-connection.js'
import { CloseCode, PROTOCOL, type SubscribePayload } from './ws-protocol.js'
import type { SocketWriter } from './ws-sink.js'

export interface WsServerOptions {
  httpServer: http.Server
  limits: SubscriptionLimits
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

/** "Bearer <jwt>" or a bare token, under `authorization` (any case) in the connection_init payload. */
export function authorizationFrom(params: Record<string, unknown> | undefined): string | undefined {
  const entry = Object.entries(params ?? {}).find(([k]) => k.toLowerCase() === 'authorization')
  const value = typeof entry?.[1] === 'string' ? entry[1].trim() : ''
  if (value === '') return undefined
  return /^bearer\s/i.test(value) ? value : `Bearer ${value}`
}

/** How long a socket gets to complete the close handshake before it is destroyed. */
const CLOSE_HANDSHAKE_MS = 2_000
/** Keep-alive ticks per SUBSCRIPTION_KEEP_ALIVE_MS: each socket is pinged once every that many ticks. */
const KEEP_ALIVE_TICKS = 8

const badRequest = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } })

/** Attaches graphql-transport-ws to /graphql; close() ends every socket with 1001 so clients reconnect to another instance. */
export function attachWsServer(options: WsServerOptions): { close: () => Promise<void> } {
  const server = new WsServer(options)
  options.httpServer.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) =>
    server.upgrade(req, socket, head),
  )
  return { close: () => server.close() }
}

class WsServer implements ConnectionHost {
  readonly maxMessageBytes: number
  readonly closeHandshakeMs = CLOSE_HANDSHAKE_MS
  private readonly connections = new Set<WsConnection>()
  private readonly keepAlive: NodeJS.Timeout
  private tick = 0
  private closing: (() => void) | undefined
  private stopped = false

  constructor(private readonly o: WsServerOptions) {
    this.maxMessageBytes = o.limits.maxMessageBytes
    // One timer for every socket; each is pinged on its own tick, so pings spread over the interval.
    this.keepAlive = setInterval(() => this.ping(), Math.max(1, Math.round(o.limits.keepAliveMs / KEEP_ALIVE_TICKS)))
    this.keepAlive.unref()
  }

  upgrade(req: http.IncomingMessage, socket: Socket, head: Buffer): void {
    const handshake = this.check(req)
    if ('status' in handshake) {
      refuseUpgrade(socket, handshake.status, handshake.message, handshake.headers)
      return
    }
    if (!socket.readable || !socket.writable) {
      socket.destroy()
      return
    }
    socket.setTimeout(0)
    socket.setNoDelay(true)
    socket.write(acceptResponse(handshake.accept, PROTOCOL))
    const connection = new WsConnection(socket, this)
    this.connections.add(connection)
    connection.pingAt = this.tick + KEEP_ALIVE_TICKS
    if (!this.o.connections.enter()) {
      // Over the router's cap, a socket is told to try again later (1013).
      connection.close(CloseCode.tryAgainLater, refusalMessage('router', this.o.limits).message)
      return
    }
    connection.admitted = true
    connection.timer = setTimeout(initTimedOut, this.o.limits.initTimeoutMs, connection)
    if (head.length > 0) connection.receive(head)
  }

  private check(req: http.IncomingMessage): Handshake {
    const url = req.url ?? '/'
    const query = url.indexOf('?')
    if ((query === -1 ? url : url.slice(0, query)) !== '/graphql') return { status: 400, message: 'Bad Request' }
    if (this.stopped) return { status: 503, message: 'the router is shutting down' }
    return checkHandshake(req, PROTOCOL)
  }

  /** connection_init: the token is verified and the caller admitted under its per-caller cap. */
  async connect(connection: WsConnection, params: Record<string, unknown> | undefined): Promise<boolean> {
    const authorization = authorizationFrom(params)
    let caller: Caller | null
    try {
      caller = await callerFromAuthorization(authorization, this.o.tokens)
    } catch {
      return false // 4403 Forbidden
    }
    if (!connection.open) return false
    const key = caller?.userId ?? `address:${connection.socket.remoteAddress}`
    if (!this.o.connections.enterCaller(key)) {
      // 4429: graphql-ws clients do not retry it.
      connection.close(CloseCode.tooManyInitialisationRequests, refusalMessage('caller', this.o.limits).message)
      return false
    }
    connection.callerKey = key
    connection.authorization = authorization
    return true
  }

  /** One subscribe message: the same document cache, operation limits and input checks as HTTP. */
  async run(connection: WsConnection, operation: SocketWriter, payload: SubscribePayload): Promise<void> {
    const { limits } = this.o
    if (connection.running > limits.maxPerSocket)
      return connection.refused(operation, [badRequest(`at most ${limits.maxPerSocket} operations per connection`)])
    const variables = payload.variables ?? undefined
    const operationName = payload.operationName ?? undefined
    const checked = checkOperation(this.o.apiSchema(), this.o.documents, this.o.operationLimits, {
      query: payload.query,
      operationName,
      variables,
    })
    if ('errors' in checked) return connection.refused(operation, checked.errors)
    const ast = getOperationAST(checked.document, operationName)
    if (!ast) return connection.refused(operation, [new GraphQLError('Unable to identify operation')])

    // Checked again per operation: a socket may outlive its token.
    const caller = await this.reverify(connection.authorization)
    if (caller instanceof GraphQLError) return connection.result(operation, { errors: [caller] })
    if (ast.operation !== 'subscription') {
      const correlationId = randomUUID()
      const result = await this.o.executeOperation(
        { query: payload.query, operationName, variables },
        { caller, correlationId, logger: this.o.logger.child({ correlationId }) },
      )
      return connection.result(operation, result)
    }
    const subscribed = await this.o.service.subscribe({
      schema: checked.schema,
      document: checked.document,
      query: payload.query,
      operationName,
      variables,
      caller,
      onOverflow: () => {
        if (!connection.open) return
        this.o.logger.warn({ bufferSize: limits.bufferSize }, 'closing a subscriber that fell behind')
        connection.close(CloseCode.tryAgainLater, 'subscriber too slow')
      },
    })
    if (!(subscribed instanceof SubscriberQueue)) return connection.result(operation, subscribed)
    // The client completed it (or went away) while it was being set up.
    if (!connection.has(operation)) return void subscribed.end()
    operation.serve(subscribed)
  }

  failed(err: unknown): void {
    this.o.logger.error({ err }, 'a graphql-transport-ws message failed')
  }

  closed(connection: WsConnection): void {
    this.connections.delete(connection)
    if (connection.admitted) this.o.connections.leave()
    if (connection.callerKey !== undefined) this.o.connections.leaveCaller(connection.callerKey)
    connection.admitted = false
    connection.callerKey = undefined
    if (this.closing && this.connections.size === 0) this.closing()
  }

  /** Every socket is told "going away" (graphql-ws clients reconnect, to another instance, and resubscribe). */
  async close(): Promise<void> {
    this.stopped = true
    clearInterval(this.keepAlive)
    if (this.connections.size === 0) return
    const closed = new Promise<void>(resolve => {
      this.closing = resolve
    })
    // A socket that does not answer the close handshake is destroyed after CLOSE_HANDSHAKE_MS.
    for (const connection of this.connections) connection.close(CloseCode.goingAway, 'Going away')
    await closed
  }

  private async reverify(authorization: string | undefined): Promise<Caller | null | GraphQLError> {
    try {
      return await callerFromAuthorization(authorization, this.o.tokens)
    } catch (err) {
      if (err instanceof GraphQLError) return err
      return new GraphQLError(err instanceof Error ? err.message : 'the token is not valid', {
        extensions: { code: 'UNAUTHENTICATED' },
      })
    }
  }

  /** One keep-alive tick: the sockets whose turn it is are pinged (or dropped for a missed pong). */
  private ping(): void {
    const tick = ++this.tick
    for (const connection of this.connections) {
      if (connection.pingAt > tick) continue
      connection.pingAt = tick + KEEP_ALIVE_TICKS
      connection.keepAlive()
    }
  }
}

function initTimedOut(connection: WsConnection): void {
  connection.initTimedOut()
}
