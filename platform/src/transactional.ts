// Event handlers that change a service's own database, written once as appliers (the event, the
// transaction, the event sink) and run two ways by the consumer: each event in a transaction of its
// own, or several events whose turn came together in one transaction (one commit for all; each
// event's emitted events carry its own cause). An applier must be idempotent and record itself
// applied (markApplied) in that transaction, as every consumer's handlers do.
// A hot applier can be one statement that writes its change, its idempotency record and its own
// outbox rows (OneStatement): alone it then runs without a transaction, in a batch on the batch's.
import type { BatchHandler, EventHandlers } from './consumer.js'
import { causedBy, type EventEnvelope, type EventOf } from './events.js'
import type { EventSink, Transact } from './outbox.js'
import type { StatementSink } from './outbox-statement.js'

export type Applier<Ev, Tx, E> = (event: Ev, tx: Tx, events: EventSink<E>) => Promise<void>

/**
 * An applier whose common case is one statement (see Transact.alone). `statement` answers whether
 * it dealt with the event; when it did not, it wrote nothing, and `otherwise` applies the event in
 * a transaction as any applier does (the uncommon case, or one the statement cannot tell apart).
 */
export interface OneStatement<Ev, Tx, E> {
  statement: (event: Ev, db: Tx, events: StatementSink<E>) => Promise<boolean>
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

  // Alone: a one-statement applier on the database itself, and in a transaction only if it must.
  const handle = async (apply: AnyApplier<Tx, E>, event: EventEnvelope) => {
    const cause = causedBy(event)
    if (typeof apply === 'function') return transact(cause, (tx, events) => apply(event, tx, events))
    if (await transact.alone(cause, (db, events) => apply.statement(event, db, events))) return
    const otherwise = apply.otherwise
    if (otherwise) await transact(cause, (tx, events) => otherwise(event, tx, events))
  }
  // In a batch: everything on the batch's transaction, its outbox rows kicked after its commit.
  const inBatch = async (apply: AnyApplier<Tx, E>, event: EventEnvelope, tx: Tx, events: EventSink<E>) => {
    if (typeof apply === 'function') return apply(event, tx, events)
    if (!(await apply.statement(event, tx, events))) await apply.otherwise?.(event, tx, events)
  }

  const handlers = Object.fromEntries(
    Object.entries(table).map(([type, apply]) => [type, (event: EventEnvelope) => handle(apply!, event)]),
  ) as unknown as EventHandlers<C>
  const handleBatch: BatchHandler = batch =>
    transact(causedBy(batch[0].event), async (tx, events) => {
      for (const { event } of batch) {
        const apply = applierOf(event.type)
        if (apply) await inBatch(apply, event, tx, events.withCause(causedBy(event)))
      }
    })
  return { handlers, handleBatch }
}
