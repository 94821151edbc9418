// A service's hot statements, run by pg itself rather than through Prisma's query engine: under the
// write bench Prisma's own work per query (its request pipeline, the query interpreter, its
// transaction protocol) was a fifth of each consumer's CPU and most of each hop's time. A statement
// is SQL built with Prisma's `sql` tag (the store writes it, values as parameters) and prepared once
// per connection under a name given to its text, so PostgreSQL parses and plans it once, not per call.
import type pg from 'pg'
import type { Sql } from '@prisma/client/runtime/client'

/** Runs one statement and answers its rows; on its own it commits on its own (autocommit). */
export interface Statements {
  rows<R>(query: Sql): Promise<R[]>
}

/**
 * Distinct statement texts given a name; past it a text runs unnamed (parsed each time), so a
 * caller that builds many texts (an IN list of every length) cannot fill each connection with
 * prepared statements. Our own statements pass arrays (`unnest`), one text whatever their size.
 */
export const NAMED_STATEMENTS_MAX = 500

const names = new Map<string, string>()

/** The prepared statement name of a text: the same text always gets the same name in a process. */
export function statementName(text: string): string | undefined {
  let name = names.get(text)
  if (name === undefined && names.size < NAMED_STATEMENTS_MAX) {
    name = `gdm${names.size}`
    names.set(text, name)
  }
  return name
}

/** Statements on a pg pool: each on a connection of its own, committed on its own. */
export function pgStatements(pool: pg.Pool): Statements {
  return {
    async rows<R>(query: Sql) {
      const result = await pool.query({ name: statementName(query.text), text: query.text, values: query.values })
      return result.rows as R[]
    },
  }
}

/** Statements on a Prisma client or transaction (`$queryRaw`): the same SQL where a transaction needs it. */
export function prismaStatements(db: { $queryRaw<T = unknown>(query: Sql): Promise<T> }): Statements {
  return { rows: <R>(query: Sql) => db.$queryRaw<R[]>(query) }
}
