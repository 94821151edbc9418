// Event handlers that change a service's own database, written once as appliers (the event, the
// transaction, the event sink) and run two ways by the consumer: each event on its own, or several
// events whose turn came together (a batch; each event's emitted events carry its own cause). An
// applier must be idempotent and record itself applied (markApplied) with its change, as every
// consumer's handlers do.
// A hot applier is one statement for any number of events (OneStatement): it writes their changes,
// their idempotency records and their own outbox rows, without a transaction, so one event costs
// one round trip and a batch of them costs one too. A batch is not one transaction: each event is
// applied atomically (its statement, or its own part of the batch's transaction), which is all the
// consumer needs, since a batch never holds two events of one key and a failed batch is applied
// again event by event, where whatever was applied already is recognised by its record.
import type { BatchHandler, EventHandlers } from './consumer.js'
import { causedBy, type EventEnvelope, type EventOf } from './events.js'
import type { EventSink, Transact } from './outbox.js'
import type { StatementSink } from './outbox-statement.js'
import type { Statements } from './statements.js'

export type Applier<Ev, Tx, E> = (event: Ev, tx: Tx, events: EventSink<E>) => Promise<void>

/**
 * An applier whose common case is one statement. `statement` applies events of different keys in
 * one statement on the database (no transaction) and answers the ids of those it dealt with; the
 * others it left untouched, and `otherwise` applies each in a transaction as any applier does (the
 * uncommon case, or one the statement cannot tell apart).
 */
export interface OneStatement<Ev, Tx, E> {
  statement: (events: Ev[], db: Statements, sink: StatementSink<E>) => Promise<ReadonlySet<string>>
  otherwise?: Applier<Ev, Tx, E>
}

export type Appliers<C, Tx, E> = {
  [K in keyof C & string]?: Applier<EventOf<C, K>, Tx, E> | OneStatement<EventOf<C, K>, Tx, E>
}

type AnyApplier<Tx, E> = Applier<EventEnvelope, Tx, E> | OneStatement<EventEnvelope, Tx, E>

export function transactionalHandlers<C, Tx, E>(
  transact: Transact<Tx, E>,
  appliers: Appliers<C, Tx, E>,
): { handlers: EventHandlers<C>; handleBatch: BatchHandler } {
  const table = appliers as Record<string, AnyApplier<Tx, E> | undefined>
  const applierOf = (type: string) => (Object.hasOwn(table, type) ? table[type] : undefined)

  /** The events a one-statement applier's statement did not deal with and its `otherwise` should. */
  const inStatement = async (apply: OneStatement<EventEnvelope, Tx, E>, events: EventEnvelope[]) => {
    const dealt = await transact.alone((db, sink) => apply.statement(events, db, sink))
    return apply.otherwise ? events.filter(e => !dealt.has(e.id)) : []
  }
  /** Appliers given the transaction, each event with its own cause. */
  const inTransaction = async (events: EventEnvelope[]) => {
    if (!events.length) return
    await transact(causedBy(events[0]), async (tx, sink) => {
      for (const event of events) {
        const apply = applierOf(event.type)
        const applier = typeof apply === 'function' ? apply : apply?.otherwise
        await applier?.(event, tx, sink.withCause(causedBy(event)))
      }
    })
  }

  const handlers = Object.fromEntries(
    Object.entries(table).map(([type, apply]) => [
      type,
      async (event: EventEnvelope) =>
        inTransaction(typeof apply === 'function' ? [event] : await inStatement(apply!, [event])),
    ]),
  ) as unknown as EventHandlers<C>

  // In a batch: the events of each one-statement applier in one statement, the rest in one transaction.
  const handleBatch: BatchHandler = async batch => {
    const rest: EventEnvelope[] = []
    const statements = new Map<OneStatement<EventEnvelope, Tx, E>, EventEnvelope[]>()
    for (const { event } of batch) {
      const apply = applierOf(event.type)
      if (typeof apply === 'function') rest.push(event)
      else if (apply) statements.set(apply, [...(statements.get(apply) ?? []), event])
    }
    for (const [apply, events] of statements) rest.push(...(await inStatement(apply, events)))
    await inTransaction(rest)
  }
  return { handlers, handleBatch }
}
