import { describe, expect, it } from '@jest/globals'
import { ConnectionLimits } from './connections.js'

describe('ConnectionLimits', () => {
  it('caps connections per router and per caller, and gives places back once', () => {
    const limits = new ConnectionLimits({ maxConnections: 3, maxPerCaller: 2 })
    const a1 = limits.admitBoth('a')
    const a2 = limits.admitBoth('a')
    expect(limits.admitBoth('a')).toEqual({ refused: 'caller' })
    const b1 = limits.admitBoth('b')
    expect(limits.admitBoth('c')).toEqual({ refused: 'router' })
    expect(limits.connections).toBe(3)
    if ('refused' in a1 || 'refused' in a2 || 'refused' in b1) throw new Error('admitted expected')
    a1.release()
    a1.release()
    expect(limits.connections).toBe(2)
    expect('release' in limits.admitBoth('a')).toBe(true)
    expect(limits.admitBoth('c')).toEqual({ refused: 'router' })
  })

  it('does not count a caller refusal against the router', () => {
    const limits = new ConnectionLimits({ maxConnections: 10, maxPerCaller: 1 })
    limits.admitBoth('a')
    expect(limits.admitBoth('a')).toEqual({ refused: 'caller' })
    expect(limits.connections).toBe(1)
  })
})
