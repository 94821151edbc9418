import { describe, expect, it } from '@jest/globals'
import { logFormat } from './logger.js'

describe('logFormat', () => {
  it('is readable on a terminal', () => {
    expect(logFormat({ isTTY: true })).toBe('pretty')
  })

  it('is JSON on a pipe or a file, where isTTY is false or absent', () => {
    expect(logFormat({ isTTY: false })).toBe('json')
    expect(logFormat({})).toBe('json')
  })
})
