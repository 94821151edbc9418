// graphql-ws's own loop pulled each result, awaited a hook, validated and stringified the whole
// message and awaited the write, per subscriber and event: at 10,000 subscribers of one change that
// was most of the fan-out. A subscription's results are written here instead, straight from its
// queue as they settle: the shared JSON text of the result (serialised once per result, not per
// subscriber) inside a `next` message for this operation id, one frame and one socket write each.
import type { Socket } from 'node:net'
import type { ExecutionResult } from 'graphql'
import type { QueueSink, SubscriberQueue } from './queue.js'
import type { SharedResult } from './shared.js'
import { headerBytes, Opcode, writeHeader } from './websocket.js'

/** What an operation needs of its connection (ws-server.ts). */
export interface OperationSocket {
  readonly socket: Socket
  /** False once the connection is closing: nothing more is written. */
  readonly open: boolean
  /** Writes one whole frame; the connection resumes its draining operations once the socket has taken everything. */
  send(frame: Buffer): void
  /** The operation's results ended (normally, or with `error`): the connection tells the client if it still waits. */
  finished(operation: SocketWriter, error: Error | undefined): void
}

/**
 * One operation on one connection (from its `subscribe` message until it completes), and the sink
 * its subscription's queue writes to. Small: one per subscriber, no closures or promises.
 */
export class SocketWriter implements QueueSink<ExecutionResult> {
  /** The subscription's queue once it is served (undefined for a query or mutation). */
  queue: SubscriberQueue<ExecutionResult> | undefined
  /** A write stayed in the socket's buffer: the queue waits until the socket has taken it. */
  draining = false
  /** Between cork() and uncork(): writes collect in the TCP socket for one system call. */
  private corked = false
  private readonly prefix: string
  private readonly prefixBytes: number

  constructor(
    private readonly connection: OperationSocket,
    readonly id: string,
  ) {
    this.prefix = `{"id":${JSON.stringify(id)},"type":"next","payload":`
    this.prefixBytes = Buffer.byteLength(this.prefix)
  }

  /** From now on the queue's results go to the socket as they settle. */
  serve(queue: SubscriberQueue<ExecutionResult>): void {
    this.queue = queue
    queue.writeTo(this)
  }

  write(result: SharedResult<ExecutionResult>): boolean {
    if (!this.connection.open) return true
    this.connection.send(textFrame(this.prefix, this.prefixBytes, result.bytes))
    return this.corked || this.roomLeft()
  }

  /** A query's or mutation's one result. */
  next(result: ExecutionResult): void {
    if (this.connection.open)
      this.connection.send(textFrame(this.prefix, this.prefixBytes, Buffer.from(JSON.stringify(result))))
  }

  cork(): void {
    this.connection.socket.cork()
    this.corked = true
  }

  uncork(): boolean {
    if (!this.corked) return true
    this.corked = false
    this.connection.socket.uncork()
    return this.roomLeft()
  }

  /** The socket took everything written: the queue goes on. */
  resume(): void {
    if (!this.draining) return
    this.draining = false
    this.queue?.resume()
  }

  /** The client completed it or the connection closed: the queue stops (no message follows). */
  stop(): void {
    const queue = this.queue
    this.queue = undefined
    queue?.end()
  }

  /** Whether the socket took everything written (else the queue waits for resume()). */
  private roomLeft(): boolean {
    if (this.connection.socket.writableLength === 0) return true
    this.draining = true
    return false
  }

  close(error?: Error): void {
    if (!this.queue) return
    this.queue = undefined
    this.connection.finished(this, error)
  }
}

/**
 * One WebSocket text message `prefix + body + "}"` as a single unmasked server frame (RFC 6455
 * §5.2; no extension is negotiated): one write per subscriber, the shared body copied, not
 * encoded again. Every frame is a whole write, so pings, close and protocol messages stay in order
 * around them.
 */
export function textFrame(prefix: string, prefixBytes: number, body: Buffer): Buffer {
  const length = prefixBytes + body.length + 1
  const frame = Buffer.allocUnsafe(headerBytes(length) + length)
  const header = writeHeader(frame, Opcode.text, length)
  const at = header + frame.write(prefix, header)
  body.copy(frame, at)
  frame[at + body.length] = 0x7d // }
  return frame
}
