import { describe, expect, it } from '@jest/globals'
import type { JetStreamManager } from 'nats'
import { createEvent, type EventEnvelope } from './events.js'
import { StreamOrder } from './stream-order.js'

/** A stream of the filter's messages at the given sequences, read through a fake JetStream manager that counts reads. */
function stream(messages: Record<number, EventEnvelope>, floor = 0) {
  let reads = 0
  const seqs = Object.keys(messages)
    .map(Number)
    .sort((a, b) => a - b)
  const jsm = {
    consumers: { info: async () => ({ ack_floor: { stream_seq: floor } }) },
    streams: {
      getMessage: async (_stream: string, q: { seq: number }) => {
        reads++
        const seq = seqs.find(s => s >= q.seq)
        if (seq === undefined) throw Object.assign(new Error('no message'), { code: '404' })
        return { seq, data: new TextEncoder().encode(JSON.stringify(messages[seq])) }
      },
    },
  } as unknown as JetStreamManager
  const order = new StreamOrder({
    jsm: async () => jsm,
    stream: 'S',
    durable: 'd',
    filter: 's.item.*',
    keyOf: e => e.aggregateId,
    ignored: e => e.type === 'Ignored',
    floorMaxAgeMs: 60_000,
  })
  return { order, reads: () => reads }
}

const ev = (key: string, type = 'Changed') =>
  createEvent({ type, aggregateId: key, aggregateVersion: 1, data: {}, cause: { correlationId: 'c' } })

describe('order across replicas', () => {
  it('reads nothing from the stream between consecutive first deliveries', async () => {
    const a1 = ev('a')
    const b = ev('b')
    const a2 = ev('a')
    const { order, reads } = stream({ 2: a1, 5: b, 9: a2 })
    order.note(2, a1.id, 'a', { delivery: { dseq: 1, first: true } })
    order.note(5, b.id, 'b', { delivery: { dseq: 2, first: true } })
    order.note(9, a2.id, 'a', { delivery: { dseq: 3, first: true } })
    expect(await order.earlier('a', 9)).toEqual([a1.id])
    // Only the stretch before the first delivery is read (once).
    expect(reads()).toBe(1)
    order.settle(2)
    expect(await order.earlier('a', 9)).toEqual([])
    expect(reads()).toBe(1)
  })

  it('reads the stream across a gap in the deliveries (another instance took a message)', async () => {
    const a1 = ev('a')
    const other = ev('a')
    const a2 = ev('a')
    const { order, reads } = stream({ 2: a1, 5: other, 9: a2 })
    order.note(2, a1.id, 'a', { delivery: { dseq: 1, first: true } })
    order.settle(2)
    // delivery 2 went elsewhere (seq 5)
    order.note(9, a2.id, 'a', { delivery: { dseq: 3, first: true } })
    expect(await order.earlier('a', 9)).toEqual([other.id])
    expect(reads()).toBeGreaterThan(1)
  })

  it('does not trust a stretch across a redelivery', async () => {
    const a1 = ev('a')
    const other = ev('a')
    const a2 = ev('a')
    const { order } = stream({ 2: a1, 5: other, 9: a2 })
    order.note(2, a1.id, 'a', { delivery: { dseq: 1, first: true } })
    order.settle(2)
    order.note(2, a1.id, 'a', { delivery: { dseq: 2, first: false } })
    order.note(9, a2.id, 'a', { delivery: { dseq: 3, first: true } })
    expect(await order.earlier('a', 9)).toEqual([other.id])
  })

  it('never waits for an event of a type the handler ignores', async () => {
    const ignored = ev('a', 'Ignored')
    const a2 = ev('a')
    const { order } = stream({ 3: ignored, 9: a2 })
    order.note(9, a2.id, 'a', { delivery: { dseq: 7, first: true } })
    expect(await order.earlier('a', 9)).toEqual([])
  })
})
