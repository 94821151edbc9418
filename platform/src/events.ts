// The event envelope every event travels in, and the typing of a bounded context's events: a
// catalogue maps each event type to its payload (the contexts' catalogues live in contracts/).
import { randomUUID } from 'node:crypto'

export interface EventEnvelope<T = unknown, Type extends string = string> {
  /** Unique event id; also the JetStream message id, so a re-publish is dropped. */
  id: string
  type: Type
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

/**
 * The envelope of event `K` of catalogue `C` (event type → payload); with every type, the
 * discriminated union of the context's events, so `switch (event.type)` narrows `event.data`.
 */
export type EventOf<C, K extends keyof C = keyof C> = K extends keyof C & string ? EventEnvelope<C[K], K> : never

/** A bounded context's events: its name (the subject's second token) and, as a type, its catalogue. */
export interface EventCatalogue<C> {
  readonly context: string
  /** Never set: carries the catalogue's type. */
  readonly events?: C
}

export const eventCatalogue = <C>(context: string): EventCatalogue<C> => ({ context })

/** The events of two contexts, for a consumer that reads both (its subjects: every context). */
export const eitherCatalogue = <A, B>(_a: EventCatalogue<A>, _b: EventCatalogue<B>): EventCatalogue<A & B> => ({
  context: '*',
})

export interface NewEvent<T, Type extends string = string> {
  type: Type
  aggregateId: string
  aggregateVersion: number
  data: T
  /** Where it comes from: a request's correlation id, or the event being handled. */
  cause: { correlationId: string; causationId?: string | null }
}

export function createEvent<T, Type extends string>(e: NewEvent<T, Type>): EventEnvelope<T, Type> {
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
export const causedBy = (event: EventEnvelope) => ({
  correlationId: event.correlationId,
  causationId: event.id,
})

/** Subjects are `<prefix>.<context>.<EventType>`; the prefix is the stream name in lower case (GDMARKET → gdmarket). */
export const subjectPrefix = (stream: string): string => stream.toLowerCase()
export const eventSubject = (stream: string, context: string, type: string): string =>
  `${subjectPrefix(stream)}.${context}.${type}`

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
