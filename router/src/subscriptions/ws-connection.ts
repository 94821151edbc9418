// One graphql-transport-ws connection on an upgraded TCP socket: the frame reader's state, the
// protocol's state (init, ack, operations by id), and the close handshake. One small object per
// socket: the socket's listeners are shared functions that find it on the socket, there is no
// per-socket stream or closure but the flush callback, a timer only while it opens or closes (the
// keep-alive is one timer for every socket), and the upgrade request is not kept.
import type { Socket } from 'node:net'
import { GraphQLError } from 'graphql'
import {
  CloseCode,
  ackMessage,
  completeMessage,
  errorMessage,
  parseClientMessage,
  pongMessage,
  type SubscribePayload,
} from './ws-protocol.js'
import { type FrameHandler, Opcode, type ReadState, closeFrame, frame, readFrames } from './websocket.js'
import { type OperationSocket, SocketWriter } from './ws-sink.js'

/** What a connection asks of the server that accepted it (ws-server.ts). */
export interface ConnectionHost {
  readonly maxMessageBytes: number
  /** How long a closing socket gets to answer the close handshake before it is destroyed. */
  readonly closeHandshakeMs: number
  /** connection_init: verifies its payload; resolves true once the connection may be acknowledged. */
  connect(connection: WsConnection, params: Record<string, unknown> | undefined): Promise<boolean>
  /** Runs one operation; its results go to `operation`. */
  run(connection: WsConnection, operation: SocketWriter, payload: SubscribePayload): Promise<void>
  /** The socket closed: give back what the connection held. */
  closed(connection: WsConnection): void
  /** Handling a message failed unexpectedly (the connection closes with 4500). */
  failed(err: unknown): void
}

const CONNECTION = Symbol('graphql-transport-ws connection')
type ConnectedSocket = Socket & { [CONNECTION]?: WsConnection }

const PING = frame(Opcode.ping, Buffer.alloc(0))

/** 0: waiting for connection_init; 1: init received, being verified; 2: acknowledged. */
type Phase = 0 | 1 | 2

export class WsConnection implements ReadState, FrameHandler, OperationSocket {
  // The frame reader's state (websocket.ts).
  unread: Buffer[] | undefined = undefined
  unreadBytes = 0
  needed = 2
  fragments: Buffer[] | undefined = undefined
  fragmentBytes = 0
  fragmentOpcode = 0

  phase: Phase = 0
  /** A close frame was sent (or the socket ended): nothing but the close handshake from here. */
  closing = false
  /** A ping is out and no pong came back yet. */
  awaitingPong = false
  /** The keep-alive tick at which this socket is pinged next. */
  pingAt = 0
  /** The token from connection_init ("Bearer …"), checked again for every operation. */
  authorization: string | undefined = undefined
  /** Whether it holds a place under the router's connection cap. */
  admitted = false
  /** The per-caller cap's key this connection counts against, once admitted. */
  callerKey: string | undefined = undefined
  /** The init timeout, then the close-handshake timeout. */
  timer: NodeJS.Timeout | undefined = undefined
  private operations: Map<string, SocketWriter> | undefined = undefined
  private flushed: ((err?: Error | null) => void) | undefined = undefined

  constructor(
    readonly socket: Socket,
    private readonly host: ConnectionHost,
  ) {
    ;(socket as ConnectedSocket)[CONNECTION] = this
    // A client that ends its side without the close handshake gets this side ended too.
    socket.allowHalfOpen = false
    socket.on('data', onData)
    socket.on('error', onError)
    socket.on('close', onClose)
  }

  get open(): boolean {
    return !this.closing
  }

  /** Operations running (or being checked) on this connection. */
  get running(): number {
    return this.operations?.size ?? 0
  }

  has(operation: SocketWriter): boolean {
    return this.operations?.get(operation.id) === operation
  }

  send(data: Buffer): void {
    this.flushed ??= (err?: Error | null) => {
      if (!err && this.socket.writableLength === 0) this.resumeDraining()
    }
    this.socket.write(data, this.flushed)
  }

  sendText(text: string): void {
    if (!this.closing) this.send(frame(Opcode.text, Buffer.from(text)))
  }

  onPing(payload: Buffer): void {
    if (!this.closing) this.send(frame(Opcode.pong, payload))
  }

  onPong(): void {
    this.awaitingPong = false
  }

  /** The keep-alive: a ping, or the end of a socket that did not answer the last one. */
  keepAlive(): void {
    if (this.closing) return
    if (this.awaitingPong) {
      this.socket.destroy()
      return
    }
    this.awaitingPong = true
    this.send(PING)
  }

  /** Starts the close handshake with `code`; the socket is destroyed if it does not finish it. */
  close(code: number, reason: string): void {
    if (this.closing) return
    this.send(closeFrame(code, reason))
    this.closing = true
    this.stopOperations()
    this.armCloseTimer()
  }

  /** The peer's close frame: answered (its code echoed) unless this side started, then the TCP connection ends. */
  onClose(code: number | undefined): void {
    if (!this.closing) this.send(code === undefined ? frame(Opcode.close, Buffer.alloc(0)) : closeFrame(code))
    this.end()
  }

  onProtocolError(code: number, reason: string): void {
    if (!this.closing) this.send(closeFrame(code, reason))
    this.end()
  }

  onMessage(data: Buffer): void {
    if (this.closing) return
    const message = parseClientMessage(data.toString())
    if (!message) this.close(CloseCode.badRequest, 'Invalid message received')
    else if (message.type === 'connection_init') this.init(message.payload ?? undefined)
    else if (message.type === 'ping') this.sendText(pongMessage(message.payload))
    else if (message.type === 'subscribe') this.subscribe(message.id, message.payload)
    else if (message.type === 'complete') this.complete(message.id)
  }

  private init(params: Record<string, unknown> | undefined): void {
    if (this.phase !== 0) {
      this.close(CloseCode.tooManyInitialisationRequests, 'Too many initialisation requests')
      return
    }
    this.phase = 1
    this.clearTimer()
    this.host.connect(this, params).then(
      permitted => {
        if (this.closing) return
        if (!permitted) {
          this.close(CloseCode.forbidden, 'Forbidden')
          return
        }
        this.phase = 2
        this.sendText(ackMessage)
      },
      (err: unknown) => this.internalError(err),
    )
  }

  private subscribe(id: string, payload: SubscribePayload): void {
    if (this.phase !== 2) {
      this.close(CloseCode.unauthorized, 'Unauthorized')
      return
    }
    if (this.operations?.has(id)) {
      this.close(CloseCode.subscriberExists, `Subscriber for ${id} already exists`)
      return
    }
    const operation = new SocketWriter(this, id)
    this.operations ??= new Map()
    this.operations.set(id, operation)
    this.host.run(this, operation, payload).catch((err: unknown) => this.internalError(err))
  }

  /** The client's complete: the operation stops, and nothing more is sent for it. */
  private complete(id: string): void {
    const operation = this.operations?.get(id)
    if (!operation) return
    this.operations?.delete(id)
    operation.stop()
  }

  /** A query's or mutation's result (or a refused operation's), then `complete`, if the client still waits for it. */
  result(operation: SocketWriter, result: { errors?: readonly GraphQLError[] }): void {
    if (!this.has(operation)) return
    operation.next(result)
    this.finished(operation, undefined)
  }

  /** The operation was refused before it ran: an `error` message with why. */
  refused(operation: SocketWriter, errors: readonly GraphQLError[]): void {
    if (!this.has(operation)) return
    this.operations?.delete(operation.id)
    this.sendText(errorMessage(operation.id, errors))
  }

  finished(operation: SocketWriter, error: Error | undefined): void {
    if (!this.has(operation)) return
    this.operations?.delete(operation.id)
    if (!error) this.sendText(completeMessage(operation.id))
    // As graphql-ws reports an error that ends a subscription: its message, and its code if it has one.
    else this.sendText(errorMessage(operation.id, [new GraphQLError(error.message, { originalError: error })]))
  }

  /** After the init timeout: a connection that never sent connection_init is closed (4408). */
  initTimedOut(): void {
    this.timer = undefined
    if (this.phase === 0) this.close(CloseCode.initTimeout, 'Connection initialisation timeout')
  }

  private internalError(err: unknown): void {
    this.host.failed(err)
    this.close(CloseCode.internalServerError, 'Internal server error')
  }

  /** Ends this side of the TCP connection (the close handshake is over or failed). */
  private end(): void {
    if (!this.closing) {
      this.closing = true
      this.stopOperations()
    }
    this.socket.end()
    this.armCloseTimer()
  }

  /** From now on the socket has CLOSE_HANDSHAKE_MS to close (this replaces the init timeout). */
  private armCloseTimer(): void {
    this.clearTimer()
    this.timer = setTimeout(destroyLater, this.host.closeHandshakeMs, this.socket)
    this.timer.unref()
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
  }

  private resumeDraining(): void {
    if (!this.operations) return
    for (const operation of this.operations.values()) if (operation.draining) operation.resume()
  }

  private stopOperations(): void {
    const operations = this.operations
    this.operations = undefined
    if (operations) for (const operation of operations.values()) operation.stop()
  }

  /** The TCP socket closed, however that came about. */
  socketClosed(): void {
    this.closing = true
    this.clearTimer()
    this.stopOperations()
    this.unread = undefined
    this.fragments = undefined
    this.host.closed(this)
  }

  receive(chunk: Buffer): void {
    if (!readFrames(this, chunk, this.host.maxMessageBytes, this)) this.socket.removeListener('data', onData)
  }
}

const connectionOf = (socket: Socket) => (socket as ConnectedSocket)[CONNECTION]

function onData(this: Socket, chunk: Buffer): void {
  connectionOf(this)?.receive(chunk)
}
function onError(this: Socket): void {
  // 'close' follows; nothing to report for a client that went away.
}
function onClose(this: Socket): void {
  connectionOf(this)?.socketClosed()
}
function destroyLater(socket: Socket): void {
  socket.destroy()
}
