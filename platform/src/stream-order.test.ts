import { describe, expect, it } from '@jest/globals'
import type { JetStreamManager } from 'nats'
import { createEvent, type EventEnvelope } from './events.js'
import { StreamOrder } from './stream-order.js'

/** A stream of the filter's messages at the given sequences, read through a fake JetStream manager that counts reads. */
function stream(messages: Record<number, EventEnvelope>, floor = 0, floorMaxAgeMs = 60_000) {
  let reads = 0
  const at = { floor }
  const seqs = Object.keys(messages)
    .map(Number)
    .sort((a, b) => a - b)
  const jsm = {
    consumers: { info: async () => ({ ack_floor: { stream_seq: at.floor } }) },
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
    floorMaxAgeMs,
  })
  return { order, reads: () => reads, at }
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

  it('reads no ack floor for a turn when this instance holds every earlier delivery, however old the floor', async () => {
    const events = Array.from({ length: 6 }, (_, i) => ev(i % 2 ? 'a' : 'b'))
    const { order, reads } = stream(Object.fromEntries(events.map((e, i) => [i + 1, e])), 0, 0)
    for (const [i, e] of events.entries()) {
      const seq = i + 1
      order.note(seq, e.id, e.aggregateId, { delivery: { dseq: seq, first: true } })
      expect(await order.earlier(e.aggregateId, seq)).toEqual([])
      order.settle(seq)
    }
    // The first turn reads the floor once (it bounds a first scan); no other turn needs it.
    expect(order.floorReads).toBe(1)
    expect(reads()).toBe(0)
  })

  it('still names an earlier event of the key this instance holds unsettled, without reading the floor while fresh', async () => {
    const a1 = ev('a')
    const a2 = ev('a')
    const { order } = stream({ 1: a1, 2: a2 })
    order.note(1, a1.id, 'a', { delivery: { dseq: 1, first: true } })
    order.note(2, a2.id, 'a', { delivery: { dseq: 2, first: true } })
    expect(await order.earlier('a', 2)).toEqual([a1.id])
    expect(order.floorReads).toBe(1)
  })

  it('reads a stale floor again before naming an earlier event: one past it is settled by whoever held it', async () => {
    const other = ev('a')
    const a2 = ev('a')
    const { order, at } = stream({ 4: other, 9: a2 }, 0, 0)
    order.note(9, a2.id, 'a', { delivery: { dseq: 5, first: true } })
    expect(await order.earlier('a', 9)).toEqual([other.id])
    at.floor = 4 // the other instance applied and acked it
    expect(await order.earlier('a', 9)).toEqual([])
  })

  it('reads the floor and the stream after a gap in the deliveries', async () => {
    const a1 = ev('a')
    const taken = ev('a')
    const a3 = ev('a')
    const { order, reads } = stream({ 1: a1, 2: taken, 3: a3 }, 0, 0)
    order.note(1, a1.id, 'a', { delivery: { dseq: 1, first: true } })
    expect(await order.earlier('a', 1)).toEqual([])
    order.settle(1)
    // dseq 2 (seq 2) went to another instance
    order.note(3, a3.id, 'a', { delivery: { dseq: 3, first: true } })
    const before = order.floorReads
    expect(await order.earlier('a', 3)).toEqual([taken.id])
    expect(order.floorReads).toBeGreaterThan(before)
    expect(reads()).toBe(1)
  })

  it('forgets settled events past its memory bound and still names the unsettled one', async () => {
    const n = 1500
    const events = Array.from({ length: n }, (_, i) => ev(i === 0 ? 'held' : `k${i}`))
    const { order } = stream(Object.fromEntries(events.map((e, i) => [i + 1, e])))
    for (const [i, e] of events.entries()) {
      order.note(i + 1, e.id, e.aggregateId, { delivery: { dseq: i + 1, first: true } })
      if (i > 0) order.settle(i + 1)
    }
    const late = ev('held')
    order.note(n + 1, late.id, 'held', { delivery: { dseq: n + 1, first: true } })
    expect(await order.earlier('held', n + 1)).toEqual([events[0].id])
  })
})
