import { describe, expect, it } from '@jest/globals'
import { parse } from 'graphql'
import { findForbiddenCharacter, forbiddenCharacterAt } from './input.js'

const doc = parse('query($i: String) { items(after: "x") { id } }')

describe('forbidden characters in what a client sends', () => {
  it('finds NUL, other C0 and C1 controls, DEL and lone surrogates', () => {
    for (const s of [
      'a\u0000',
      '\u0001',
      'tab\there',
      'line\nbreak',
      '\u001f',
      '\u007f',
      '\u0085',
      '\u009f',
      '\ud800',
      'x\udfffy',
    ])
      expect(forbiddenCharacterAt(s)).toBeGreaterThanOrEqual(0)
  })

  it('lets any other text through: accents, Hangul, emoji (a surrogate pair), spaces', () => {
    for (const s of ['', 'Camera', 'Café', '근대마켓', '📷 camera', 'a\u00a0b', '\u2028', 'x'.repeat(10_000)])
      expect(forbiddenCharacterAt(s)).toBe(-1)
  })

  it('looks at every string literal of the document (escapes decoded) and every variable, however deep', () => {
    expect(findForbiddenCharacter(doc, { i: 'fine', deep: [{ a: ['ok'] }] })).toBeNull()
    expect(findForbiddenCharacter(parse('{ items(after: "a\\u0000") { id } }'))).toBe(
      'U+0000 in a string of the document',
    )
    expect(findForbiddenCharacter(doc, { input: { name: 'a\u0000b' } })).toBe('U+0000 in variable $input.name')
    expect(findForbiddenCharacter(doc, { reps: [{ id: 'ok' }, { id: '\ud800' }] })).toBe(
      'U+D800 in variable $reps[1].id',
    )
    expect(findForbiddenCharacter(doc, { 'k\u0007': 1 })).toBe('U+0007 in a key of variable $')
    expect(findForbiddenCharacter(doc, null)).toBeNull()
  })
})
