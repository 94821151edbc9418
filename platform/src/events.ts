// The event envelope every GDmarket event travels in (catalogue: docs/events.md).
import { randomUUID } from 'node:crypto'

/** Bounded contexts that publish events; the second token of every subject. */
export type EventContext = 'item' | 'reservation' | 'payment'

export interface EventEnvelope<T = Record<string, unknown>> {
  /** Unique event id; also the JetStream message id, so a re-publish is dropped. */
  id: string
  type: string
  /** Version of the envelope and payload shape. */
  version: 1
  occurredAt: string
  /** Id of the aggregate (item, reservation, payment) the event belongs to. */
  aggregateId: string
  /** The aggregate's version after the change: consumers never let an older one overwrite a newer. */
  aggregateVersion: number
  /** The originating request's correlation id, carried through every event it causes. */
  correlationId: string
  /** Id of the event that caused this one, null for one caused by a request. */
  causationId: string | null
  data: T
}

export interface NewEvent<T> {
  type: string
  aggregateId: string
  aggregateVersion: number
  data: T
  /** Where it comes from: a request's correlation id, or the event being handled. */
  cause: { correlationId: string; causationId?: string | null }
}

export function createEvent<T>(e: NewEvent<T>): EventEnvelope<T> {
  return {
    id: randomUUID(),
    type: e.type,
    version: 1,
    occurredAt: new Date().toISOString(),
    aggregateId: e.aggregateId,
    aggregateVersion: e.aggregateVersion,
    correlationId: e.cause.correlationId,
    causationId: e.cause.causationId ?? null,
    data: e.data,
  }
}

/** The cause to give events produced while handling `event`. */
export const causedBy = (event: EventEnvelope<unknown>) => ({
  correlationId: event.correlationId,
  causationId: event.id,
})

/** Subjects are `<prefix>.<context>.<EventType>`; the prefix is the stream name in lower case (GDMARKET → gdmarket). */
export const subjectPrefix = (stream: string): string => stream.toLowerCase()
export const eventSubject = (stream: string, context: EventContext, type: string): string =>
  `${subjectPrefix(stream)}.${context}.${type}`

/**
 * The ItemInfo change feed (projections → router subscriptions): its own stream, kept for a while,
 * not forever, since it is derived data. Subject per item: `<prefix>-projections.ItemInfoChanged.<itemId>`.
 */
export const itemInfoFeedStream = (stream: string): string => `${stream}_ITEMINFO`
export const itemInfoChangedSubject = (stream: string, itemId = '*'): string =>
  `${subjectPrefix(stream)}-projections.ItemInfoChanged.${itemId}`

export function parseEnvelope(data: Uint8Array): EventEnvelope {
  const e = JSON.parse(new TextDecoder().decode(data)) as EventEnvelope
  if (
    typeof e.id !== 'string' ||
    typeof e.type !== 'string' ||
    typeof e.aggregateId !== 'string' ||
    typeof e.data !== 'object'
  ) {
    throw new Error('not an event envelope')
  }
  return e
}
