import { describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import {
  type FrameHandler,
  type ReadState,
  Opcode,
  closeFrame,
  frame,
  initialReadState,
  isValidCloseCode,
  readFrames,
} from './websocket.js'

/** A client frame as RFC 6455 §5.2 lays it out: masked unless told otherwise, FIN unless told otherwise. */
function clientFrame(
  opcode: number,
  payload: Buffer | string,
  { fin = true, masked = true, rsv = 0 }: { fin?: boolean; masked?: boolean; rsv?: number } = {},
): Buffer {
  const data = Buffer.from(payload)
  const length = data.length
  const extended = length < 126 ? 0 : length < 65_536 ? 2 : 8
  const head = Buffer.alloc(2 + extended + (masked ? 4 : 0))
  head[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode
  head[1] = (masked ? 0x80 : 0) | (extended === 0 ? length : extended === 2 ? 126 : 127)
  if (extended === 2) head.writeUInt16BE(length, 2)
  if (extended === 8) head.writeBigUInt64BE(BigInt(length), 2)
  if (!masked) return Buffer.concat([head, data])
  const mask = randomBytes(4)
  mask.copy(head, 2 + extended)
  const body = Buffer.from(data.map((b, i) => b ^ mask[i & 3]))
  return Buffer.concat([head, body])
}

type Seen = (string | [string, ...unknown[]])[]

/** A handler that writes down what the reader found. */
function recorder(): FrameHandler & { seen: Seen } {
  const seen: Seen = []
  return {
    seen,
    onMessage: (data, text) => seen.push([text ? 'text' : 'binary', data.toString()]),
    onPing: payload => seen.push(['ping', payload.toString()]),
    onPong: () => seen.push('pong'),
    onClose: (code, reason) => seen.push(['close', code, reason]),
    onProtocolError: (code, reason) => seen.push(['fail', code, reason]),
  }
}

const MAX = 1024

/** Feeds `chunks` one by one, as a socket's 'data' events would, until the reader stops. */
function read(chunks: Buffer[], state: ReadState = initialReadState(), max = MAX): Seen {
  const handler = recorder()
  for (const chunk of chunks) if (!readFrames(state, chunk, max, handler)) break
  return handler.seen
}

/** Every way to cut `data` in two. */
const splits = (data: Buffer) =>
  Array.from({ length: data.length - 1 }, (_, n) => [data.subarray(0, n + 1), data.subarray(n + 1)])

describe('readFrames', () => {
  it('reads masked text messages, several in one chunk', () => {
    const chunk = Buffer.concat([clientFrame(Opcode.text, '{"type":"connection_init"}'), clientFrame(Opcode.text, 'é')])
    expect(read([chunk])).toEqual([
      ['text', '{"type":"connection_init"}'],
      ['text', 'é'],
    ])
  })

  it('reads a frame cut anywhere across chunks, with 16- and 64-bit lengths', () => {
    for (const size of [5, 200, 70_000]) {
      const text = 'x'.repeat(size)
      const data = clientFrame(Opcode.text, text)
      const cuts = size < 1000 ? splits(data) : [[data.subarray(0, 1), data.subarray(1, 9), data.subarray(9)]]
      for (const chunks of cuts) expect(read(chunks, initialReadState(), 100_000)).toEqual([['text', text]])
      // One byte at a time.
      if (size < 1000) expect(read([...data].map(b => Buffer.from([b])))).toEqual([['text', text]])
    }
  })

  it('joins a fragmented message, with control frames between its fragments', () => {
    const chunks = [
      clientFrame(Opcode.text, 'hel', { fin: false }),
      clientFrame(Opcode.ping, 'p1'),
      clientFrame(Opcode.continuation, 'lo ', { fin: false }),
      clientFrame(Opcode.pong, ''),
      clientFrame(Opcode.continuation, 'wörld'),
    ]
    expect(read([Buffer.concat(chunks)])).toEqual([['ping', 'p1'], 'pong', ['text', 'hello wörld']])
    expect(read(chunks)).toEqual([['ping', 'p1'], 'pong', ['text', 'hello wörld']])
  })

  it('checks UTF-8 over the whole message, so a character may span fragments', () => {
    const bytes = Buffer.from('ü')
    const split = [
      clientFrame(Opcode.text, bytes.subarray(0, 1), { fin: false }),
      clientFrame(Opcode.continuation, bytes.subarray(1)),
    ]
    expect(read(split)).toEqual([['text', 'ü']])
    expect(read([clientFrame(Opcode.text, Buffer.from([0x7b, 0xc3, 0x28]))])).toEqual([
      ['fail', 1007, 'text message is not valid UTF-8'],
    ])
    // Binary messages are not text: no check.
    expect(read([clientFrame(Opcode.binary, Buffer.from([0xff]))])).toEqual([['binary', '\ufffd']])
  })

  it('reads a close frame with its code and reason, or without any, and nothing after it', () => {
    const close = (payload: Buffer) =>
      read([Buffer.concat([clientFrame(Opcode.close, payload), clientFrame(Opcode.text, 'late')])])
    const coded = Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from('bye')])
    expect(close(coded)).toEqual([['close', 1000, 'bye']])
    expect(close(Buffer.alloc(0))).toEqual([['close', undefined, '']])
    expect(close(Buffer.from([0x03]))).toEqual([['fail', 1002, 'close frame with a 1-byte payload']])
    expect(close(Buffer.from([0x03, 0xed]))).toEqual([['fail', 1002, 'invalid close code 1005']])
    expect(close(Buffer.from([0x03, 0xe8, 0xff]))).toEqual([['fail', 1007, 'close reason is not valid UTF-8']])
  })

  it.each([
    ['an unmasked frame', clientFrame(Opcode.text, 'hi', { masked: false }), 1002, 'client frames must be masked'],
    ['a reserved bit', clientFrame(Opcode.text, 'hi', { rsv: 4 }), 1002, 'reserved bits must be clear'],
    ['a reserved opcode', clientFrame(3, 'hi'), 1002, 'unknown opcode 3'],
    ['a reserved control opcode', clientFrame(0xb, ''), 1002, 'unknown opcode 11'],
    [
      'a fragmented ping',
      clientFrame(Opcode.ping, 'p', { fin: false }),
      1002,
      'control frames must be whole and at most 125 bytes',
    ],
    [
      'a 126-byte ping',
      clientFrame(Opcode.ping, 'p'.repeat(126)),
      1002,
      'control frames must be whole and at most 125 bytes',
    ],
    ['a continuation first', clientFrame(Opcode.continuation, 'x'), 1002, 'continuation frame without a message'],
    [
      'a message inside a fragmented one',
      Buffer.concat([clientFrame(Opcode.text, 'a', { fin: false }), clientFrame(Opcode.text, 'b')]),
      1002,
      'a new message inside a fragmented one',
    ],
    ['a frame over the limit', clientFrame(Opcode.text, 'x'.repeat(MAX + 1)), 1009, 'message too large'],
    [
      'fragments over the limit together',
      Buffer.concat([
        clientFrame(Opcode.text, 'x'.repeat(MAX / 2), { fin: false }),
        clientFrame(Opcode.continuation, 'x'.repeat(MAX / 2 + 1)),
      ]),
      1009,
      'message too large',
    ],
  ])('fails on %s', (_name, data, code, reason) => {
    expect(read([data])).toEqual([['fail', code, reason]])
  })

  it('refuses an oversized frame from its header, before its payload arrives', () => {
    const head = clientFrame(Opcode.binary, Buffer.alloc(10 * MAX)).subarray(0, 8)
    expect(read([head])).toEqual([['fail', 1009, 'message too large']])
  })

  it('keeps nothing between whole frames', () => {
    const state = initialReadState()
    read([clientFrame(Opcode.text, 'a'), clientFrame(Opcode.text, 'b', { fin: false })], state)
    expect(state.fragments).toHaveLength(1)
    read([clientFrame(Opcode.continuation, 'c')], state)
    expect(state).toEqual(initialReadState())
  })
})

describe('server frames', () => {
  it('frames a payload unmasked with the shortest length encoding', () => {
    expect(frame(Opcode.text, Buffer.from('hi'))).toEqual(Buffer.from([0x81, 2, 0x68, 0x69]))
    expect(frame(Opcode.ping, Buffer.alloc(0))).toEqual(Buffer.from([0x89, 0]))
    expect(frame(Opcode.text, Buffer.alloc(300)).subarray(0, 4)).toEqual(Buffer.from([0x81, 126, 1, 44]))
    expect(frame(Opcode.binary, Buffer.alloc(70_000)).subarray(0, 10)).toEqual(
      Buffer.from([0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]),
    )
  })

  it('cuts a close reason to 123 bytes on a character boundary', () => {
    const out = closeFrame(4429, 'é'.repeat(100))
    expect(out[1]).toBe(2 + 122)
    expect(out.readUInt16BE(2)).toBe(4429)
    expect(out.subarray(4).toString()).toBe('é'.repeat(61))
  })

  it('knows which close codes a peer may send', () => {
    expect([1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4999].every(isValidCloseCode)).toBe(true)
    expect([0, 999, 1004, 1005, 1006, 1015, 2000, 5000].some(isValidCloseCode)).toBe(false)
  })
})
