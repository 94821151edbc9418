// How appliers are run: a plain one in a transaction; a one-statement one alone on the database
// (no transaction), falling back to a transaction only when its statement did not deal with the
// event; in a batch, everything on the batch's one transaction, each event with its own cause.
import { describe, expect, it } from '@jest/globals'
import { createEvent, type EventEnvelope } from './events.js'
import type { Cause, EventSink, Transact } from './outbox.js'
import type { StatementSink } from './outbox-statement.js'
import { transactionalHandlers } from './transactional.js'

interface Catalogue {
  Asked: { n: number }
  Told: { n: number }
}

/** Where each piece ran: `db` alone, or `tx#k` the k-th transaction; and with which cause. */
function fakeTransact() {
  const log: string[] = []
  let k = 0
  const sink = (cause: Cause) =>
    ({ cause, withCause: (c: Cause) => sink(c) }) as unknown as EventSink<Catalogue> & { cause: Cause }
  const transact = Object.assign(
    async <T>(cause: Cause, fn: (tx: string, events: EventSink<Catalogue>) => Promise<T>) =>
      fn(`tx#${++k}`, sink(cause)),
    {
      alone: async <T>(cause: Cause, fn: (db: string, events: StatementSink<Catalogue>) => Promise<T>) =>
        fn('db', sink(cause)),
    },
  ) as Transact<string, Catalogue>
  return { transact, log }
}

const event = (type: keyof Catalogue, n: number): EventEnvelope =>
  createEvent({ type, aggregateId: `a${n}`, aggregateVersion: 1, data: { n }, cause: { correlationId: `c${n}` } })
const causeOf = (events: unknown) => (events as { cause: Cause }).cause.causationId

describe('transactionalHandlers', () => {
  const setup = (dealt: boolean) => {
    const { transact, log } = fakeTransact()
    const { handlers, handleBatch } = transactionalHandlers<Catalogue, string, Catalogue>(transact, {
      Asked: {
        statement: async (e, db, events) => {
          log.push(`statement ${e.data.n} on ${db} for ${causeOf(events) === e.id}`)
          return dealt
        },
        otherwise: async (e, tx, events) => {
          log.push(`otherwise ${e.data.n} on ${tx} for ${causeOf(events) === e.id}`)
        },
      },
      Told: async (e, tx, events) => {
        log.push(`told ${e.data.n} on ${tx} for ${causeOf(events) === e.id}`)
      },
    })
    const position = { seq: 1 }
    return { handlers, handleBatch, log, position }
  }

  it('runs a one-statement applier alone, and in a transaction only when the statement did not deal', async () => {
    const dealt = setup(true)
    await dealt.handlers.Asked!(event('Asked', 1) as never, dealt.position)
    expect(dealt.log).toEqual(['statement 1 on db for true'])

    const not = setup(false)
    await not.handlers.Asked!(event('Asked', 2) as never, not.position)
    await not.handlers.Told!(event('Told', 3) as never, not.position)
    expect(not.log).toEqual(['statement 2 on db for true', 'otherwise 2 on tx#1 for true', 'told 3 on tx#2 for true'])
  })

  it('runs every applier of a batch on its one transaction, each event with its own cause', async () => {
    const { handleBatch, log, position } = setup(false)
    await handleBatch([event('Asked', 1), event('Told', 2), event('Asked', 3)].map(e => ({ event: e, position })))
    expect(log).toEqual([
      'statement 1 on tx#1 for true',
      'otherwise 1 on tx#1 for true',
      'told 2 on tx#1 for true',
      'statement 3 on tx#1 for true',
      'otherwise 3 on tx#1 for true',
    ])
  })
})
