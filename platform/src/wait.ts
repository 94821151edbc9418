// Waiting for a condition by polling: what tests, the demo and the process starters share.

export const sleep = (ms: number) => new Promise<void>(r => setTimeout(r, ms))

export interface EventuallyOptions {
  timeoutMs?: number
  intervalMs?: number
  /** Named in the error when the deadline passes. */
  what?: string
  /** An error that ends the wait at once instead of being retried. */
  fatal?: (error: unknown) => boolean
}

/** Polls until `fn` returns a value `ok` accepts, or throws with the last value/error after the deadline. */
export async function eventually<T>(
  fn: () => Promise<T>,
  ok: (v: T) => boolean = Boolean,
  { timeoutMs = 15_000, intervalMs = 50, what = 'condition', fatal = () => false }: EventuallyOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await fn()
      if (ok(v)) return v
      last = v
    } catch (e) {
      if (fatal(e)) throw e
      last = e
    }
    if (Date.now() > deadline)
      throw new Error(
        `${what} not met within ${timeoutMs} ms; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`,
      )
    await sleep(intervalMs)
  }
}
