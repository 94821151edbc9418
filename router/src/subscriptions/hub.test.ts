import { describe, expect, it } from '@jest/globals'
import type { ExecutionResult } from 'graphql'
import { createLogger } from '@gdmarket/platform/logger'
import type { ItemInfoEvent } from './feed.js'
import { type Filter, type StartMode, SubscriptionHub } from './hub.js'
import type { PreparedSubscription } from './plan.js'

/** A plan that returns the payload it was run on, and counts its runs. */
function countingPlan(): PreparedSubscription & { runs: number } {
  const plan = {
    runs: 0,
    run: async (payload: Record<string, unknown>) => {
      plan.runs++
      return { data: { itemInfoChanged: payload } }
    },
  }
  return plan
}

const event = (cursor: number, itemId: string, ownerId: string, version = cursor): ItemInfoEvent => ({
  itemId,
  ownerId,
  version,
  cursor,
  payload: {
    itemId,
    ownerId,
    version,
    customerId: 'renter-1',
    customerName: 'YoungEun',
    reservationStatus: 'CONFIRMED',
  },
})

function setup() {
  const hub = new SubscriptionHub({ bufferSize: 100, maxDocuments: 2 }, createLogger('test', 'silent'), r => r)
  const plan = countingPlan()
  const join = (
    userId: string | null,
    filter: Partial<Filter> = {},
    start: StartMode = 'live',
    floor = 0,
    query = 'q',
  ) =>
    hub.join({
      key: JSON.stringify([query, filter]),
      query,
      filter: { itemId: null, ownerId: null, ...filter },
      variables: {},
      userId,
      prepare: () => plan,
      onOverflow: () => undefined,
      start,
      floor,
    })
  return { hub, plan, join }
}

const pull = async (queue: AsyncIterator<ExecutionResult>, n: number) => {
  const out: Record<string, unknown>[] = []
  for (let i = 0; i < n; i++) out.push((await queue.next()).value.data.itemInfoChanged)
  return out
}

describe('SubscriptionHub', () => {
  it('runs a change at most twice per group: as the public sees it and as its two parties see it', async () => {
    const { hub, plan, join } = setup()
    const owner = join('owner-1')
    const customer = join('renter-1')
    const strangers = [join('renter-2'), join(null), join(null)]
    hub.deliver(event(1, 'i1', 'owner-1'))
    expect(plan.runs).toBe(2)
    for (const s of [owner, customer]) expect((await pull(s.queue, 1))[0].customerName).toBe('YoungEun')
    for (const s of strangers)
      expect((await pull(s.queue, 1))[0]).toMatchObject({
        customerName: null,
        customerId: null,
        reservationStatus: 'CONFIRMED',
      })
  })

  it('filters by owner, items registered later included, and by item', async () => {
    const { hub, join } = setup()
    const mine = join('owner-1', { ownerId: 'owner-1' })
    const one = join(null, { itemId: 'i2' })
    hub.deliver(event(1, 'i1', 'owner-1'))
    hub.deliver(event(2, 'i2', 'owner-2'))
    hub.deliver(event(3, 'i3', 'owner-1'))
    expect((await pull(mine.queue, 2)).map(p => p.itemId)).toEqual(['i1', 'i3'])
    expect((await pull(one.queue, 1)).map(p => p.itemId)).toEqual(['i2'])
    expect(mine.queue.length + one.queue.length).toBe(0)
  })

  it('skips a replaying subscriber, then sends only what is after the position it turned live at', async () => {
    const { hub, join } = setup()
    const replaying = join(null, {}, 'replay', 5)
    hub.deliver(event(6, 'i1', 'o'))
    expect(replaying.queue.length).toBe(0)
    hub.send(replaying, event(6, 'i1', 'o'))
    hub.goLive(replaying, 7)
    hub.deliver(event(7, 'i2', 'o')) // the live edge lagging the replay: already counted as sent
    hub.deliver(event(8, 'i3', 'o'))
    expect((await pull(replaying.queue, 2)).map(p => p.itemId)).toEqual(['i1', 'i3'])
  })

  it('holds live changes while the current state is read, then sends only newer versions', async () => {
    const { hub, join } = setup()
    const board = join('owner-1', { ownerId: 'owner-1' }, 'hold')
    hub.deliver(event(10, 'i1', 'owner-1', 3)) // already in the state below
    hub.deliver(event(11, 'i2', 'owner-1', 1)) // an item registered meanwhile
    board.versionFloors = new Map([['i1', 3]])
    hub.send(board, event(10, 'i1', 'owner-1', 3))
    hub.goLive(board, 0)
    hub.deliver(event(12, 'i1', 'owner-1', 4))
    expect((await pull(board.queue, 3)).map(p => `${p.itemId}@${p.version}`)).toEqual(['i1@3', 'i2@1', 'i1@4'])
    expect(board.queue.length).toBe(0)
  })

  it('bounds the distinct documents it serves, and frees one when its last subscriber leaves', () => {
    const { hub, join } = setup()
    const a = join(null, {}, 'live', 0, 'a')
    join(null, {}, 'live', 0, 'b')
    expect(() => join(null, {}, 'live', 0, 'c')).toThrow(/at most 2 distinct subscription documents/)
    a.queue.end()
    expect(() => join(null, {}, 'live', 0, 'c')).not.toThrow()
    expect(hub.stats().documents).toBe(2)
  })
})
