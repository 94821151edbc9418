import { describe, expect, it, jest } from '@jest/globals'
import { type QueueSink, SlowSubscriberError, SubscriberQueue } from './queue.js'
import { SharedResult } from './shared.js'

const queue = (capacity = 3) => {
  const onOverflow = jest.fn()
  const onEnd = jest.fn()
  return { q: new SubscriberQueue<number>({ capacity, onOverflow, onEnd }), onOverflow, onEnd }
}

describe('SubscriberQueue', () => {
  it('yields results in push order even when a later one settles first', async () => {
    const { q } = queue()
    let settleFirst: (n: number) => void = () => undefined
    q.push(new Promise(r => (settleFirst = r)))
    q.push(Promise.resolve(2))
    const first = q.next()
    settleFirst(1)
    expect(await first).toEqual({ value: 1, done: false })
    expect(await q.next()).toEqual({ value: 2, done: false })
  })

  it('hands a push straight to a waiting pull', async () => {
    const { q } = queue()
    const pending = q.next()
    q.push(Promise.resolve(7))
    expect(await pending).toEqual({ value: 7, done: false })
    expect(q.length).toBe(0)
  })

  it('return() resolves a pending pull at once and detaches once', async () => {
    const { q, onEnd } = queue()
    const pending = q.next()
    await q.return()
    expect(await pending).toEqual({ value: undefined, done: true })
    q.push(Promise.resolve(1))
    expect(await q.next()).toEqual({ value: undefined, done: true })
    await q.return()
    expect(onEnd).toHaveBeenCalledTimes(1)
  })

  it('cuts a subscriber off past its capacity: drops the buffer, reports once, then ends', async () => {
    const { q, onOverflow, onEnd } = queue(2)
    for (let i = 0; i < 5; i++) q.push(Promise.resolve(i))
    expect(onOverflow).toHaveBeenCalledTimes(1)
    expect(onEnd).toHaveBeenCalledTimes(1)
    expect(q.length).toBe(0)
    await expect(q.next()).rejects.toBeInstanceOf(SlowSubscriberError)
    expect(await q.next()).toEqual({ value: undefined, done: true })
  })

  it('writes to a sink as results settle, in push order, and holds them while the sink is full', async () => {
    const { q } = queue(5)
    const written: number[] = []
    const closed: (Error | undefined)[] = []
    let room = true
    const sink: QueueSink<number> = {
      write: r => {
        written.push(r.value as number)
        return room
      },
      close: e => void closed.push(e),
    }
    q.writeTo(sink)
    q.push(new SharedResult({ value: 1 }))
    expect(written).toEqual([1]) // settled: written in the same turn
    let settle: (n: number) => void = () => undefined
    q.push(new Promise<number>(r => (settle = r)))
    q.push(new SharedResult({ value: 3 }))
    expect(written).toEqual([1])
    room = false
    settle(2)
    await Promise.resolve()
    expect(written).toEqual([1, 2]) // the sink is full after 2
    room = true
    q.resume()
    expect(written).toEqual([1, 2, 3])
    q.fail(new Error('expired'))
    expect(closed.map(e => e?.message)).toEqual(['expired'])
  })

  it('a sink past capacity is closed with the slow-subscriber error, and the overflow reported', () => {
    const { q, onOverflow } = queue(2)
    const closed: (Error | undefined)[] = []
    q.writeTo({ write: () => false, close: e => void closed.push(e) })
    for (let i = 0; i < 4; i++) q.push(new SharedResult({ value: i }))
    expect(onOverflow).toHaveBeenCalledTimes(1)
    expect(closed[0]).toBeInstanceOf(SlowSubscriberError)
  })

  it('shares one serialisation among the subscribers of one result', () => {
    const shared = new SharedResult({ value: { data: { n: 1 } } })
    expect(shared.text).toBe('{"data":{"n":1}}')
    expect(shared.text).toBe(shared.text)
  })

  it('writes what one batch pushed together, corked, and pauses when the uncorked socket is full', () => {
    const { q } = queue(10)
    const calls: string[] = []
    let full = false
    q.writeTo({
      write: r => {
        calls.push(`write ${r.value}`)
        return true
      },
      close: () => undefined,
      cork: () => void calls.push('cork'),
      uncork: () => {
        calls.push('uncork')
        return !full
      },
    })
    full = true
    q.batch(() => {
      for (let i = 0; i < 3 && q.hasRoom; i++) q.push(new SharedResult({ value: i }))
    })
    expect(calls).toEqual(['cork', 'write 0', 'write 1', 'write 2', 'uncork'])
    q.push(new SharedResult({ value: 3 }))
    expect(calls).toHaveLength(5) // paused until resume()
    full = false
    q.resume()
    expect(calls.slice(5)).toEqual(['write 3'])
  })
})
