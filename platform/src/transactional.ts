// Event handlers that change a service's own database, written once as appliers (the event, the
// transaction, the event sink) and run two ways by the consumer: each event in a transaction of its
// own, or several events whose turn came together in one transaction (one commit for all; each
// event's emitted events carry its own cause). An applier must be idempotent and record itself
// applied (markApplied) in that transaction, as every consumer's handlers do.
import type { BatchHandler, EventHandlers } from './consumer.js'
import { causedBy, type EventEnvelope, type EventOf } from './events.js'
import type { EventSink, Transact } from './outbox.js'

export type Appliers<C, Tx, E> = {
  [K in keyof C & string]?: (event: EventOf<C, K>, tx: Tx, events: EventSink<E>) => Promise<void>
}

type AnyApplier<Tx, E> = (event: EventEnvelope, tx: Tx, events: EventSink<E>) => Promise<void>

export function transactionalHandlers<C, Tx, E>(
  transact: Transact<Tx, E>,
  appliers: Appliers<C, Tx, E>,
): { handlers: EventHandlers<C>; handleBatch: BatchHandler } {
  const table = appliers as Record<string, AnyApplier<Tx, E> | undefined>
  const applierOf = (type: string) => (Object.hasOwn(table, type) ? table[type] : undefined)
  const handlers = Object.fromEntries(
    Object.entries(table).map(([type, apply]) => [
      type,
      (event: EventEnvelope) => transact(causedBy(event), (tx, events) => apply!(event, tx, events)),
    ]),
  ) as unknown as EventHandlers<C>
  const handleBatch: BatchHandler = batch =>
    transact(causedBy(batch[0].event), async (tx, events) => {
      for (const { event } of batch) await applierOf(event.type)?.(event, tx, events.withCause(causedBy(event)))
    })
  return { handlers, handleBatch }
}
