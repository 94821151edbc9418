// The server side of WebSocket (RFC 6455) that the router needs and no more: the opening handshake
// for one subprotocol, client frames read by a small state machine over the socket's chunks, and
// whole server frames built for one write each. No extension is negotiated (no permessage-deflate:
// compressing per subscriber would cost more than the shared serialisation saves). The state lives
// in the caller's own object (one per connection), so a socket carries no reader or writer streams.
import { createHash } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import { isUtf8 } from 'node:buffer'

export const Opcode = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
const KEY = /^[+/0-9A-Za-z]{22}==$/
/** A control frame's payload, and so a close reason with its 2-byte code (RFC 6455 §5.5). */
const MAX_CONTROL = 125

/** Why the handshake was refused (written as the HTTP answer), or the accepted subprotocol. */
export type Handshake = { accept: string } | { status: number; message: string; headers?: Record<string, string> }

/** Checks an upgrade request for `protocol` (RFC 6455 §4.2.1); version 13 only. */
export function checkHandshake(req: IncomingMessage, protocol: string): Handshake {
  if (req.method !== 'GET') return { status: 405, message: 'Invalid HTTP method' }
  if (req.headers.upgrade?.toLowerCase() !== 'websocket') return { status: 400, message: 'Invalid Upgrade header' }
  const key = req.headers['sec-websocket-key']
  if (key === undefined || !KEY.test(key))
    return { status: 400, message: 'Missing or invalid Sec-WebSocket-Key header' }
  if (req.headers['sec-websocket-version'] !== '13')
    return {
      status: 400,
      message: 'Missing or invalid Sec-WebSocket-Version header',
      headers: { 'Sec-WebSocket-Version': '13' },
    }
  const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map(p => p.trim())
  if (!offered.includes(protocol)) return { status: 400, message: `the ${protocol} subprotocol is required` }
  return {
    accept: createHash('sha1')
      .update(key + GUID)
      .digest('base64'),
  }
}

/** The 101 answer that opens the connection with `protocol`. */
export function acceptResponse(accept: string, protocol: string): string {
  return (
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`
  )
}

/** Answers a refused upgrade with a plain HTTP error and closes the socket. */
export function refuseUpgrade(socket: Socket, status: number, message: string, headers: Record<string, string> = {}) {
  const fields = { Connection: 'close', 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(message) }
  const head = Object.entries({ ...fields, ...headers })
    .map(([name, value]) => `${name}: ${value}`)
    .join('\r\n')
  socket.once('finish', socket.destroy)
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head}\r\n\r\n${message}`)
}

/** The size of a server frame's header for a payload of `length` bytes (RFC 6455 §5.2). */
export const headerBytes = (length: number): 2 | 4 | 10 => (length < 126 ? 2 : length < 65_536 ? 4 : 10)

/** Writes an unmasked FIN frame's header for `opcode` and `length` at the start of `out`; answers its size. */
export function writeHeader(out: Buffer, opcode: number, length: number): number {
  const header = headerBytes(length)
  out[0] = 0x80 | opcode
  if (header === 2) out[1] = length
  else if (header === 4) {
    out[1] = 126
    out.writeUInt16BE(length, 2)
  } else {
    out[1] = 127
    out.writeUInt32BE(Math.floor(length / 2 ** 32), 2)
    out.writeUInt32BE(length >>> 0, 6)
  }
  return header
}

/** One whole unmasked server frame (FIN set): header and payload in one buffer, for one write. */
export function frame(opcode: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(headerBytes(payload.length) + payload.length)
  payload.copy(out, writeHeader(out, opcode, payload.length))
  return out
}

/** A close frame: the code and the reason, cut to fit a control frame on a character boundary. */
export function closeFrame(code: number, reason = ''): Buffer {
  let text = Buffer.from(reason)
  if (text.length > MAX_CONTROL - 2) {
    let end = MAX_CONTROL - 2
    while (end > 0 && (text[end] & 0xc0) === 0x80) end--
    text = text.subarray(0, end)
  }
  const payload = Buffer.allocUnsafe(2 + text.length)
  payload.writeUInt16BE(code, 0)
  text.copy(payload, 2)
  return frame(Opcode.close, payload)
}

/** Close codes a peer may send (RFC 6455 §7.4; 1004-1006 and 1015 are never on the wire). */
export const isValidCloseCode = (code: number) =>
  (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999)

/** What the reader keeps between chunks: fields of the connection that owns the socket. */
export interface ReadState {
  /** Chunks of a frame not complete yet (undefined between frames, the usual case). */
  unread: Buffer[] | undefined
  unreadBytes: number
  /** Bytes the frame at the head of `unread` needs before it can be read further. */
  needed: number
  /** Data frames of a fragmented message so far, and the message's opcode (0: none started). */
  fragments: Buffer[] | undefined
  fragmentBytes: number
  fragmentOpcode: number
}

export const initialReadState = (): ReadState => ({
  unread: undefined,
  unreadBytes: 0,
  needed: 2,
  fragments: undefined,
  fragmentBytes: 0,
  fragmentOpcode: 0,
})

/** What a connection does with what the reader found. */
export interface FrameHandler {
  /** A whole text (or binary) message. */
  onMessage(data: Buffer, text: boolean): void
  onPing(payload: Buffer): void
  onPong(): void
  /** The peer's close frame: its code (undefined when it sent none) and reason. */
  onClose(code: number | undefined, reason: string): void
  /** The peer broke the protocol: close with `code` (1002, 1007, 1009) and stop reading. */
  onProtocolError(code: number, reason: string): void
}

/**
 * Reads every complete frame of `chunk` (after what earlier chunks left), calling `handler` for
 * each; keeps an incomplete one in `state`. Returns false after a close frame or a failure: nothing
 * after it is read. Client frames must be masked (§5.1); payloads are unmasked in place.
 */
export function readFrames(state: ReadState, chunk: Buffer, maxMessageBytes: number, handler: FrameHandler): boolean {
  let data = chunk
  if (state.unread) {
    state.unread.push(chunk)
    state.unreadBytes += chunk.length
    if (state.unreadBytes < state.needed) return true
    data = Buffer.concat(state.unread, state.unreadBytes)
    state.unread = undefined
    state.unreadBytes = 0
  }
  let at = 0
  while (at < data.length) {
    const left = data.length - at
    if (left < 2) return keep(state, data, at, 2)
    const b0 = data[at]
    const b1 = data[at + 1]
    const fin = (b0 & 0x80) !== 0
    const opcode = b0 & 0x0f
    if ((b0 & 0x70) !== 0) return fail(handler, 1002, 'reserved bits must be clear')
    if ((b1 & 0x80) === 0) return fail(handler, 1002, 'client frames must be masked')
    const control = opcode >= 8
    if (control ? opcode > Opcode.pong : opcode > Opcode.binary) return fail(handler, 1002, `unknown opcode ${opcode}`)
    let length = b1 & 0x7f
    let header = 2
    if (length === 126) header = 4
    else if (length === 127) header = 10
    if (control && (!fin || length > MAX_CONTROL))
      return fail(handler, 1002, 'control frames must be whole and at most 125 bytes')
    if (left < header + 4) return keep(state, data, at, header + 4)
    if (header === 4) length = data.readUInt16BE(at + 2)
    else if (header === 10) {
      const high = data.readUInt32BE(at + 2)
      if (high > 0x1f_ffff) return fail(handler, 1009, 'message too large')
      length = high * 2 ** 32 + data.readUInt32BE(at + 6)
    }
    if (!control) {
      if (opcode === Opcode.continuation && state.fragmentOpcode === 0)
        return fail(handler, 1002, 'continuation frame without a message')
      if (opcode !== Opcode.continuation && state.fragmentOpcode !== 0)
        return fail(handler, 1002, 'a new message inside a fragmented one')
      if (state.fragmentBytes + length > maxMessageBytes) return fail(handler, 1009, 'message too large')
    }
    const start = at + header + 4
    if (left < header + 4 + length) return keep(state, data, at, header + 4 + length)
    const payload = data.subarray(start, start + length)
    unmask(payload, data, start - 4)
    at = start + length
    if (control) {
      if (!controlFrame(opcode, payload, handler)) return false
      continue
    }
    if (fin && state.fragmentOpcode === 0) {
      if (!deliver(opcode, payload, handler)) return false
      continue
    }
    if (state.fragmentOpcode === 0) state.fragmentOpcode = opcode
    state.fragments ??= []
    state.fragments.push(payload)
    state.fragmentBytes += length
    if (!fin) continue
    const message = Buffer.concat(state.fragments, state.fragmentBytes)
    const messageOpcode = state.fragmentOpcode
    state.fragments = undefined
    state.fragmentBytes = 0
    state.fragmentOpcode = 0
    if (!deliver(messageOpcode, message, handler)) return false
  }
  return true
}

/** Keeps the rest of `data` from `at` until `needed` bytes of it are there. */
function keep(state: ReadState, data: Buffer, at: number, needed: number): true {
  const rest = data.subarray(at)
  state.unread = [rest]
  state.unreadBytes = rest.length
  state.needed = needed
  return true
}

function unmask(payload: Buffer, data: Buffer, maskAt: number): void {
  const m0 = data[maskAt]
  const m1 = data[maskAt + 1]
  const m2 = data[maskAt + 2]
  const m3 = data[maskAt + 3]
  for (let i = 0; i < payload.length; i++) {
    const m = i & 3
    payload[i] ^= m === 0 ? m0 : m === 1 ? m1 : m === 2 ? m2 : m3
  }
}

function fail(handler: FrameHandler, code: number, reason: string): false {
  handler.onProtocolError(code, reason)
  return false
}

function deliver(opcode: number, data: Buffer, handler: FrameHandler): boolean {
  const text = opcode === Opcode.text
  if (text && !isUtf8(data)) return fail(handler, 1007, 'text message is not valid UTF-8')
  handler.onMessage(data, text)
  return true
}

function controlFrame(opcode: number, payload: Buffer, handler: FrameHandler): boolean {
  if (opcode === Opcode.ping) handler.onPing(payload)
  else if (opcode === Opcode.pong) handler.onPong()
  else {
    if (payload.length === 1) return fail(handler, 1002, 'close frame with a 1-byte payload')
    if (payload.length === 0) {
      handler.onClose(undefined, '')
      return false
    }
    const code = payload.readUInt16BE(0)
    if (!isValidCloseCode(code)) return fail(handler, 1002, `invalid close code ${code}`)
    const reason = payload.subarray(2)
    if (!isUtf8(reason)) return fail(handler, 1007, 'close reason is not valid UTF-8')
    handler.onClose(code, reason.toString())
    return false
  }
  return true
}
