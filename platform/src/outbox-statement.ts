// Events written by the very statement that makes their change. A hot handler's change and its
// OutboxEvent row go in one SQL statement (a CTE), so it needs one round trip and, alone, no
// transaction at all: PostgreSQL commits a single statement atomically (autocommit), which saves
// BEGIN, COMMIT and the outbox INSERT. The envelope's fixed parts (id, occurredAt, cause, the
// payload known up front) are built here as createEvent builds them; the parts that depend on the
// changed row (its version, its snapshot) are jsonb SQL over that row, given by the store, whose
// tests check they equal the TypeScript snapshot of the same row. PostgreSQL only (jsonb).
import { join, raw, sqltag as sql, type Sql } from '@prisma/client/runtime/client'
import { createEvent, eventSubject, type NewEvent } from './events.js'
import type { OutboxRow } from './outbox.js'

/** Event `K`'s envelope as a statement writes it: `R` are the payload fields taken from the changed row. */
export interface StatementEvent<C, K extends keyof C & string, R extends keyof C[K] & string> {
  aggregateId: string
  /** The aggregate's version after the change, as SQL over the changed row (`held."version"`). */
  aggregateVersion: Sql
  /** The payload fields known before the statement runs. */
  data: Omit<C[K], R>
  /** The payload fields that come from the changed row, as jsonb SQL over it. */
  fromRow: { [P in R]: Sql }
}

/** The column a statement selects its written outbox rows into (`written(cte)`). */
export interface Written {
  outboxWritten: OutboxRow[] | null
}

/** What a statement that writes its own outbox rows gets from the sink. */
export interface StatementSink<C> {
  /**
   * The body of a CTE (`outbox AS (${...})`) inserting event `type`'s OutboxEvent row if the CTE
   * named `from` (the changed row, at most one; a name written in the store, never input) has a
   * row. It returns the row it wrote, for `written(cte)` in the statement's SELECT.
   */
  outbox<K extends keyof C & string, R extends keyof C[K] & string>(
    type: K,
    from: string,
    e: StatementEvent<C, K, R>,
  ): Sql
  /**
   * The statement's row without its `outboxWritten` column, whose rows the relay is kicked with
   * (after the commit: at once without a transaction); null when the statement returned no row.
   */
  written<T>(row: (T & Written) | undefined): T | null
}

/** The outbox rows a CTE named `cte` inserted, as one json column of the statement's SELECT. */
export const written = (cte: string): Sql => sql`(SELECT json_agg(w) FROM ${raw(cte)} w) AS "outboxWritten"`

/** A StatementSink for events with this cause; `wrote` hears of every row a statement wrote. */
export function statementSink<C>(
  stream: string,
  context: string,
  cause: NewEvent<unknown>['cause'],
  wrote: (rows: OutboxRow[]) => void,
): StatementSink<C> {
  return {
    outbox(type, from, e) {
      const event = createEvent({ type, aggregateId: e.aggregateId, aggregateVersion: 0, data: e.data, cause })
      const fromRow = Object.entries<Sql>(e.fromRow).map(([k, v]) => sql`${k}::text, ${v}`)
      // `||` replaces the placeholder version and payload with the ones that take the row's parts.
      return sql`INSERT INTO "OutboxEvent" ("id", "subject", "envelope")
        SELECT ${event.id}::uuid, ${eventSubject(stream, context, type)},
          ${JSON.stringify(event)}::jsonb || jsonb_build_object(
            'aggregateVersion', ${e.aggregateVersion},
            'data', ${JSON.stringify(e.data)}::jsonb || jsonb_build_object(${join(fromRow, ', ')}))
        FROM ${raw(from)}
        RETURNING "id", "subject", "envelope"`
    },
    written<T>(row: (T & Written) | undefined): T | null {
      if (!row) return null
      const { outboxWritten, ...rest } = row
      if (outboxWritten?.length) wrote(outboxWritten)
      return rest as unknown as T
    },
  }
}
