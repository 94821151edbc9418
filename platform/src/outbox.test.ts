// The outbox relay with a table and a JetStream client in memory: kicked rows are published at once
// and marked together after the mark delay; the poll never publishes again a row the relay holds
// (being published, or published and waiting for its mark) nor one younger than a poll interval (its
// writer is about to kick the relay with it), and takes back one whose publish failed.
import { describe, expect, it } from '@jest/globals'
import type { EventBus } from './bus.js'
import { createLogger } from './logger.js'
import { OutboxRelay, type OutboxRow, type OutboxStore } from './outbox.js'
import { sleep } from './wait.js'

const MARK_DELAY_MS = 30
const POLL_MS = 60_000

function setup() {
  const table = new Map<string, OutboxRow & { published: boolean; createdAt: number }>()
  const marks: string[][] = []
  const store: OutboxStore = {
    pending: async (limit, held, before) =>
      [...table.values()]
        .filter(r => !r.published && !held.includes(r.id) && r.createdAt < before.getTime())
        .slice(0, limit),
    markPublished: async ids => {
      marks.push(ids)
      for (const id of ids) table.get(id)!.published = true
    },
  }
  const published: string[] = []
  /** What the next publish of a subject does; by default it is stored at once. */
  const outcome = new Map<string, Promise<void>>()
  let seq = 0
  const publisher = {
    publish: async (subject: string) => {
      await outcome.get(subject)
      published.push(subject)
      return { seq: ++seq, duplicate: false }
    },
  }
  const bus = {
    publishing: () => publisher,
    ready: async () => ({}),
    onConnect: () => undefined,
  } as unknown as EventBus
  const relay = new OutboxRelay({
    store,
    bus,
    logger: createLogger('test', 'silent'),
    pollIntervalMs: POLL_MS,
    batchSize: 100,
    markDelayMs: MARK_DELAY_MS,
  })
  /** A row committed `ago` ms before now. */
  const commit = (id: string, ago = 0) => {
    const row = { id, subject: id, envelope: '{}', published: false, createdAt: Date.now() - ago }
    table.set(id, row)
    return { id, subject: id, envelope: '{}' }
  }
  return { relay, commit, published, marks, outcome }
}

/** A publish that waits until told how it ends. */
function deferred() {
  let settle!: (ok: boolean) => void
  const promise = new Promise<void>((resolve, reject) => {
    settle = ok => (ok ? resolve() : reject(new Error('nats down')))
  })
  return { promise, settle }
}

describe('OutboxRelay', () => {
  it('publishes kicked rows at once and marks them together, after the mark delay', async () => {
    const { relay, commit, published, marks } = setup()
    relay.kick([commit('a')])
    relay.kick([commit('b')])
    await sleep(5)
    expect(published).toEqual(['a', 'b'])
    expect(marks).toEqual([])
    await sleep(MARK_DELAY_MS * 2)
    expect(marks).toEqual([['a', 'b']])
    await relay.stop()
  })

  it('polls past the rows it holds (being published or waiting for their mark) and those just committed', async () => {
    const { relay, commit, published, marks, outcome } = setup()
    const slow = deferred()
    outcome.set('a', slow.promise)
    relay.kick([commit('a')])
    relay.kick([commit('b')])
    commit('left-behind', 2 * POLL_MS) // committed, never kicked: what a crash leaves
    commit('just-committed') // its writer kicks the relay with it in a moment: not the poll's yet
    await sleep(5)
    relay.kick() // the poll
    await sleep(5)
    expect(published).toEqual(['b', 'left-behind'])
    slow.settle(true)
    await relay.idle()
    expect(published).toEqual(['b', 'left-behind', 'a'])
    expect(marks.flat().sort()).toEqual(['a', 'b', 'left-behind'])
    relay.kick()
    await relay.idle()
    expect(published).toHaveLength(3)
    await relay.stop()
  })

  it('leaves a row whose publish failed to the poll', async () => {
    const { relay, commit, published, marks, outcome } = setup()
    const down = deferred()
    outcome.set('a', down.promise)
    relay.kick([commit('a', 2 * POLL_MS)])
    down.settle(false)
    await relay.idle()
    expect(published).toEqual([])
    outcome.delete('a')
    relay.kick()
    await relay.idle()
    expect(published).toEqual(['a'])
    expect(marks).toEqual([['a']])
    await relay.stop()
  })
})
