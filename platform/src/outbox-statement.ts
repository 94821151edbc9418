// Events written by the very statement that makes their change. A hot handler's change and its
// OutboxEvent rows go in one SQL statement (a CTE), so it needs one round trip and, alone, no
// transaction at all: PostgreSQL commits a single statement atomically (autocommit), which saves
// BEGIN, COMMIT and the outbox INSERT. One statement takes any number of inputs (the events of a
// consumer's batch, each of another aggregate: arrays unnested), so a batch costs one round trip
// too. Each input's envelope is built here as createEvent builds it (its id, time, cause and the
// payload known up front) and passed as a parameter; the parts that depend on the changed row (its
// version, its snapshot) are jsonb SQL over that row, given by the store, whose tests check they
// equal the TypeScript snapshot of the same row. PostgreSQL only (jsonb).
import { join, raw, sqltag as sql, type Sql } from '@prisma/client/runtime/client'
import { createEvent, eventSubject } from './events.js'
import type { Cause, OutboxRow } from './outbox.js'

/** One event a statement may write: its aggregate, its cause, and the payload known before it runs. */
export interface StatementInput<P> {
  aggregateId: string
  cause: Cause
  data: P
}

/** What a statement's changed row gives event `K`'s envelope: `R` are the payload fields taken from it. */
export interface FromRow<C, K extends keyof C & string, R extends keyof C[K] & string> {
  /** The aggregate's version after the change, as SQL over the changed row (`held."version"`). */
  aggregateVersion: Sql
  /** The payload fields that come from the changed row, as jsonb SQL over it. */
  fromRow: { [P in R]: Sql }
}

/** Event `K` as one statement writes it for its inputs. */
export interface StatementEvent {
  /**
   * Each input's envelope, in the inputs' order: the statement passes them as a `jsonb[]` parameter
   * and carries each into its changed row as the column `"envelope"`.
   */
  envelopes: string[]
  /**
   * The body of a CTE (`outbox AS (${...})`) inserting one OutboxEvent row per row of the CTE named
   * `from` (the changed rows, each with its `"envelope"`), with the version and payload parts taken
   * from that row. It returns the rows it wrote, for `written(cte)` in the statement's SELECT.
   */
  outbox: Sql
}

/** The column a statement selects its written outbox rows into (`written(cte)`). */
export interface Written {
  outboxWritten: OutboxRow[] | null
}

/** What a statement that writes its own outbox rows gets from the sink. */
export interface StatementSink<C> {
  /** Event `type`, written by a statement for every row of `from` (a name written in the store, never input). */
  event<K extends keyof C & string, R extends keyof C[K] & string>(
    type: K,
    from: string,
    inputs: StatementInput<Omit<C[K], R>>[],
    row: FromRow<C, K, R>,
  ): StatementEvent
  /** Hands the rows a statement wrote (its `outboxWritten`) to the relay, which publishes them after the commit. */
  wrote(rows: OutboxRow[] | null): void
}

/**
 * The outbox rows a CTE named `cte` inserted, as one json column of the statement's SELECT; the
 * envelope as its text, which the relay publishes as it is.
 */
export const written = (cte: string): Sql =>
  sql`(SELECT json_agg(json_build_object('id', w."id", 'subject', w."subject", 'envelope', w."envelope"::text))
    FROM ${raw(cte)} w) AS "outboxWritten"`

/** A StatementSink of the stream's `context`; `wrote` hears of every row a statement wrote. */
export function statementSink<C>(
  stream: string,
  context: string,
  wrote: (rows: OutboxRow[]) => void,
): StatementSink<C> {
  return {
    event(type, from, inputs, { aggregateVersion, fromRow }) {
      const envelopes = inputs.map(({ aggregateId, cause, data }) =>
        JSON.stringify(createEvent({ type, aggregateId, aggregateVersion: 0, data, cause })),
      )
      const parts = Object.entries<Sql>(fromRow).map(([k, v]) => sql`${k}::text, ${v}`)
      // `||` replaces the placeholder version and payload with the ones that take the row's parts.
      const outbox = sql`INSERT INTO "OutboxEvent" ("id", "subject", "envelope")
        SELECT (${raw(from)}."envelope"->>'id')::uuid, ${eventSubject(stream, context, type)},
          ${raw(from)}."envelope" || jsonb_build_object(
            'aggregateVersion', ${aggregateVersion},
            'data', (${raw(from)}."envelope"->'data') || jsonb_build_object(${join(parts, ', ')}))
        FROM ${raw(from)}
        RETURNING "id", "subject", "envelope"`
      return { envelopes, outbox }
    },
    wrote(rows) {
      if (rows?.length) wrote(rows)
    },
  }
}
