import { describe, expect, it } from '@jest/globals'
import * as ws from 'ws'
import { textFrame } from './ws-sink.js'

// ws exports its Sender at run time; its types do not declare it.
const { Sender } = ws as unknown as {
  Sender: { frame(data: Buffer, options: Record<string, unknown>): Buffer[] }
}

/** What ws itself sends for the same text, header and payload joined. */
const wsFrame = (text: string) =>
  Buffer.concat(Sender.frame(Buffer.from(text), { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }))

describe('textFrame', () => {
  it.each([10, 125, 126, 65_535, 65_536, 200_000])('frames a %i-byte body exactly as ws does', size => {
    const prefix = '{"id":"é-1","type":"next","payload":'
    const body = `"${'x'.repeat(size)}"`
    expect(textFrame(prefix, Buffer.byteLength(prefix), Buffer.from(body))).toEqual(wsFrame(`${prefix}${body}}`))
  })
})
