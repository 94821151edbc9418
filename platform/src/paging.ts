// Paging as the contract defines it for every list: newest first, `first` 1..200 (default 50),
// `after` the id of the last element of the previous page. Ids are UUIDv7 (ids.ts), so newest
// first is id descending and a page is one index range scan, whatever page it is.
import { badInput, requireId } from './errors.js'

export const PAGE_SIZE_DEFAULT = 50
export const PAGE_SIZE_MAX = 200

export interface PageArgs {
  first?: number | null
  after?: string | null
}

/** A validated page request: `after` is null for the first page. */
export interface Page {
  first: number
  after: string | null
}

/** BAD_USER_INPUT for `first` outside 1..200 or an `after` that is not an id, before any database call. */
export function readPage(args: PageArgs): Page {
  const first = args.first ?? PAGE_SIZE_DEFAULT
  if (!Number.isInteger(first) || first < 1 || first > PAGE_SIZE_MAX)
    throw badInput(`first must be from 1 to ${PAGE_SIZE_MAX}`)
  return { first, after: args.after == null ? null : requireId(args.after, 'after') }
}

/**
 * The findMany arguments of one page, newest first: `where`, then below `after` on the id column
 * `key` (one that sorts by creation), at most `first` rows.
 */
export function newestFirst<W extends object, K extends string = 'id'>(page: Page, where: W, key: K = 'id' as K) {
  const below = page.after ? ({ [key]: { lt: page.after } } as Record<K, { lt: string }>) : {}
  return { where: { ...where, ...below }, orderBy: { [key]: 'desc' } as Record<K, 'desc'>, take: page.first }
}
