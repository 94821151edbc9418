import { describe, expect, it, jest } from '@jest/globals'
import { SlowSubscriberError, SubscriberQueue } from './queue.js'

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
})
