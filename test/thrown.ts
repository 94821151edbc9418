import { AppError } from '@gdmarket/platform/errors'

/** The contract code `fn` throws: undefined when it does not throw, 'not an AppError' for anything else. */
export function thrownCode(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (e) {
    return e instanceof AppError ? e.code : 'not an AppError'
  }
  return undefined
}
