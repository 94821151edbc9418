// What no string a client sends may contain: control characters (Unicode Cc: C0, DEL, C1, NUL
// included) and lone surrogates (half of a UTF-16 pair, not a character). PostgreSQL refuses NUL
// in text, and the rest has no place in a name or an id; one check here, run by the router on
// every operation before it is planned, turns them into BAD_USER_INPUT instead of a database error.
import { type DocumentNode, visit } from 'graphql'

const FORBIDDEN = /[\p{Cc}\p{Cs}]/u

/** Where a forbidden character sits in `value`, or -1. */
export const forbiddenCharacterAt = (value: string): number => value.search(FORBIDDEN)

/**
 * What was found in each document's own strings: a parsed document does not change, and the
 * router's Apollo Server hands every request of one text the same one, so it is walked once.
 */
const inDocuments = new WeakMap<DocumentNode, string | null>()

/** Describes the first forbidden character found, e.g. `U+0000 in variable $input.name`, or null. */
export function findForbiddenCharacter(
  document: DocumentNode,
  variables?: Record<string, unknown> | null,
): string | null {
  let found = inDocuments.get(document)
  if (found === undefined) {
    found = null
    visit(document, {
      StringValue(node) {
        if (found) return
        const at = forbiddenCharacterAt(node.value)
        if (at >= 0) found = `${codePoint(node.value, at)} in a string of the document`
      },
    })
    inDocuments.set(document, found)
  }
  return found ?? (variables ? inValue(variables, '$') : null)
}

function inValue(value: unknown, path: string): string | null {
  if (typeof value === 'string') {
    const at = forbiddenCharacterAt(value)
    return at >= 0 ? `${codePoint(value, at)} in variable ${path}` : null
  }
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const f = inValue(v, `${path}[${i}]`)
      if (f) return f
    }
    return null
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (forbiddenCharacterAt(k) >= 0) return `${codePoint(k, forbiddenCharacterAt(k))} in a key of variable ${path}`
      const f = inValue(v, path === '$' ? `$${k}` : `${path}.${k}`)
      if (f) return f
    }
  }
  return null
}

const codePoint = (s: string, at: number) => `U+${(s.codePointAt(at) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`
