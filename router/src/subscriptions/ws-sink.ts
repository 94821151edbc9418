// graphql-ws's own loop pulls each result, awaits a hook, validates and stringifies the whole
// message and awaits the write, per subscriber and event: at 10,000 subscribers of one change that
// was most of the fan-out. A subscription's results are written here instead, straight from its
// queue as they settle: the shared JSON text of the result (serialised once per result, not per
// subscriber) inside a `next` message for this operation id. graphql-ws still owns the protocol,
// errors and `complete`: it gets an iterator that ends when the queue does.
import type { Socket } from 'node:net'
import type { ExecutionResult } from 'graphql'
import type { WebSocket } from 'ws'
import type { QueueSink, SubscriberQueue } from './queue.js'
import type { SharedResult } from './shared.js'

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true }

/**
 * The queue's sink and graphql-ws's iterator in one small object (one per subscription: closures
 * and promises made up front cost more than the rest of a subscriber).
 */
class SocketWriter implements QueueSink<ExecutionResult>, AsyncIterableIterator<ExecutionResult, undefined> {
  private readonly prefix: string
  private readonly prefixBytes: number
  /** A write stayed in the socket's buffer: the queue waits for that write's callback. */
  private draining = false
  /** Between cork() and uncork(): writes collect in the TCP socket for one system call. */
  private corked = false
  private closed: { error: Error | undefined } | undefined
  private settle:
    | { resolve: (r: IteratorResult<ExecutionResult, undefined>) => void; reject: (e: Error) => void }
    | undefined
  private readonly written = (err?: Error | null) => {
    if (!this.draining) return
    this.draining = false
    if (!err) this.queue.resume()
  }

  constructor(
    private readonly queue: SubscriberQueue<ExecutionResult>,
    private readonly socket: WebSocket,
    /** The TCP socket under the WebSocket (the upgrade request's): corked for a batch. */
    private readonly tcp: Socket | undefined,
    id: string,
  ) {
    this.prefix = `{"id":${JSON.stringify(id)},"type":"next","payload":`
    this.prefixBytes = Buffer.byteLength(this.prefix)
  }

  write(result: SharedResult<ExecutionResult>): boolean {
    const socket = this.socket
    if (socket.readyState !== socket.OPEN) return true
    if (this.tcp) this.tcp.write(textFrame(this.prefix, this.prefixBytes, result.bytes), this.written)
    else socket.send(`${this.prefix}${result.text}}`, this.written)
    return this.corked || this.roomLeft()
  }

  cork(): void {
    if (!this.tcp) return
    this.tcp.cork()
    this.corked = true
  }

  uncork(): boolean {
    if (!this.corked) return true
    this.corked = false
    this.tcp?.uncork()
    return this.roomLeft()
  }

  /** Whether the socket took everything written (else the queue waits for the last write's callback). */
  private roomLeft(): boolean {
    if (this.socket.bufferedAmount === 0) return true
    this.draining = true
    return false
  }

  close(error?: Error): void {
    this.closed = { error }
    const settle = this.settle
    this.settle = undefined
    if (!settle) return
    if (error) settle.reject(error)
    else settle.resolve(DONE)
  }

  /** graphql-ws asks once: it settles when the queue ends (done) or fails (the error it sends). */
  next(): Promise<IteratorResult<ExecutionResult, undefined>> {
    if (this.closed) return this.closed.error ? Promise.reject(this.closed.error) : Promise.resolve(DONE)
    return new Promise((resolve, reject) => {
      this.settle = { resolve, reject }
    })
  }

  return(): Promise<IteratorResult<ExecutionResult, undefined>> {
    return this.queue.return()
  }

  throw(error?: unknown): Promise<IteratorResult<ExecutionResult, undefined>> {
    return this.queue.throw(error)
  }

  [Symbol.asyncIterator](): this {
    return this
  }
}

/**
 * One WebSocket text message `prefix + body + "}"` as a single unmasked server frame (RFC 6455
 * §5.2; no extension is negotiated, the server turns permessage-deflate off). Written on the TCP
 * socket itself, it is one write per subscriber instead of ws's header-and-payload writev; the
 * shared body is copied, not encoded again. Frames are whole writes, so ws's own (pings, close,
 * graphql-ws's messages) stay in order around them.
 */
export function textFrame(prefix: string, prefixBytes: number, body: Buffer): Buffer {
  const length = prefixBytes + body.length + 1
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10
  const frame = Buffer.allocUnsafe(header + length)
  frame[0] = 0x81 // FIN, text
  if (header === 2) frame[1] = length
  else if (header === 4) {
    frame[1] = 126
    frame.writeUInt16BE(length, 2)
  } else {
    frame[1] = 127
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2)
    frame.writeUInt32BE(length >>> 0, 6)
  }
  const at = header + frame.write(prefix, header)
  body.copy(frame, at)
  frame[at + body.length] = 0x7d // }
  return frame
}

export function writeToSocket(
  queue: SubscriberQueue<ExecutionResult>,
  socket: WebSocket,
  tcp: Socket | undefined,
  id: string,
): AsyncIterableIterator<ExecutionResult, undefined> {
  const writer = new SocketWriter(queue, socket, tcp, id)
  queue.writeTo(writer)
  return writer
}
