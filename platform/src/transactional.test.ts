// How appliers are run: a plain one in a transaction; a one-statement one alone on the database
// (no transaction), falling back to a transaction only for the events its statement did not deal
// with; in a batch, one statement for all of a one-statement applier's events and one transaction
// for the rest, each event with its own cause.
import { describe, expect, it } from '@jest/globals'
import { createEvent, type EventEnvelope } from './events.js'
import type { Cause, EventSink, Transact } from './outbox.js'
import type { StatementSink } from './outbox-statement.js'
import type { Statements } from './statements.js'
import { transactionalHandlers } from './transactional.js'

interface Catalogue {
  Asked: { n: number }
  Told: { n: number }
}

/** `db` is the database alone, `tx#k` the k-th transaction; each sink knows its cause. */
function fakeTransact() {
  let k = 0
  const sink = (cause: Cause) =>
    ({ cause, withCause: (c: Cause) => sink(c) }) as unknown as EventSink<Catalogue> & { cause: Cause }
  const transact = Object.assign(
    async <T>(cause: Cause, fn: (tx: string, events: EventSink<Catalogue>) => Promise<T>) =>
      fn(`tx#${++k}`, sink(cause)),
    {
      alone: async <T>(fn: (db: Statements, events: StatementSink<Catalogue>) => Promise<T>) =>
        fn('db' as unknown as Statements, {} as StatementSink<Catalogue>),
    },
  ) as unknown as Transact<string, Catalogue>
  return transact
}

const event = (type: keyof Catalogue, n: number): EventEnvelope =>
  createEvent({ type, aggregateId: `a${n}`, aggregateVersion: 1, data: { n }, cause: { correlationId: `c${n}` } })
const causeOf = (events: unknown) => (events as { cause: Cause }).cause.causationId

describe('transactionalHandlers', () => {
  /** The statement deals with the events whose n is even. */
  const setup = () => {
    const log: string[] = []
    const { handlers, handleBatch } = transactionalHandlers<Catalogue, string, Catalogue>(fakeTransact(), {
      Asked: {
        statement: async (events, db) => {
          log.push(`statement ${events.map(e => e.data.n).join(',')} on ${db}`)
          return new Set(events.filter(e => e.data.n % 2 === 0).map(e => e.id))
        },
        otherwise: async (e, tx, events) => {
          log.push(`otherwise ${e.data.n} on ${tx} for ${causeOf(events) === e.id}`)
        },
      },
      Told: async (e, tx, events) => {
        log.push(`told ${e.data.n} on ${tx} for ${causeOf(events) === e.id}`)
      },
    })
    return { handlers, handleBatch, log, position: { seq: 1 } }
  }

  it('runs a one-statement applier alone, and in a transaction only when the statement did not deal', async () => {
    const { handlers, log, position } = setup()
    await handlers.Asked!(event('Asked', 2) as never, position)
    expect(log).toEqual(['statement 2 on db'])
    await handlers.Asked!(event('Asked', 1) as never, position)
    await handlers.Told!(event('Told', 3) as never, position)
    expect(log).toEqual([
      'statement 2 on db',
      'statement 1 on db',
      'otherwise 1 on tx#1 for true',
      'told 3 on tx#2 for true',
    ])
  })

  it('in a batch, applies one statement for its events and one transaction for the rest, each with its own cause', async () => {
    const { handleBatch, log, position } = setup()
    const batch = [event('Asked', 1), event('Told', 2), event('Asked', 4), event('Asked', 5), event('Told', 6)]
    await handleBatch(batch.map(e => ({ event: e, position })))
    expect(log).toEqual([
      'statement 1,4,5 on db',
      'told 2 on tx#1 for true',
      'told 6 on tx#1 for true',
      'otherwise 1 on tx#1 for true',
      'otherwise 5 on tx#1 for true',
    ])
  })

  it('in a batch of events its statement dealt with, opens no transaction', async () => {
    const { handleBatch, log, position } = setup()
    await handleBatch([event('Asked', 2), event('Asked', 4)].map(e => ({ event: e, position })))
    expect(log).toEqual(['statement 2,4 on db'])
  })
})
