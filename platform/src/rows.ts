// What every store does the same way with its Prisma tables: the DataLoader batch ("rows by ids")
// and the optimistic update guarded by the row's version.

/** The rows for `keys`, in the order asked, null where there is none: what a DataLoader batch must answer. */
export function inKeyOrder<Row, Key>(keys: readonly Key[], rows: Row[], keyOf: (row: Row) => Key): (Row | null)[] {
  const byKey = new Map(rows.map(r => [keyOf(r), r]))
  return keys.map(k => byKey.get(k) ?? null)
}

/** The part of a Prisma table an optimistic update needs. */
export interface VersionedTable<Row, Data> {
  updateManyAndReturn(args: {
    where: { id: string; version: number }
    data: Data & { version: { increment: number } }
  }): Promise<Row[]>
}

/**
 * Applies `data` only if nobody changed the row since it was read (its version is unchanged), and
 * bumps the version; returns the new row, or null when it moved on meanwhile. One statement.
 */
export async function updateIfUnchanged<Row, Data>(
  table: VersionedTable<Row, Data>,
  row: { id: string; version: number },
  data: Data,
): Promise<Row | null> {
  const [next] = await table.updateManyAndReturn({
    where: { id: row.id, version: row.version },
    data: { ...data, version: { increment: 1 } },
  })
  return next ?? null
}
