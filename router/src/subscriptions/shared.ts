// One result of a shared execution (an event run for a group of identical subscriptions, as one
// visibility class sees it), handed to every member: computed once and serialised once. Readable
// synchronously once settled, and one settle wakes every queue waiting on it in one pass, so a
// change reaching 10,000 subscribers costs one microtask, not several per subscriber.

const texts = new WeakMap<object, string>()

/** JSON text of a result, made once per result object whichever transport asks first. */
export function textOf(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value)
  let text = texts.get(value)
  if (text === undefined) {
    text = JSON.stringify(value)
    texts.set(value, text)
  }
  return text
}

export class SharedResult<T> {
  settled = false
  value: T | undefined
  error: Error | undefined
  private waiters: (() => void)[] | undefined
  private pending: Promise<T> | undefined
  private encoded: Buffer | undefined

  constructor(source: Promise<T> | { value: T }) {
    if (source instanceof Promise) {
      this.pending = source
      source.then(
        value => this.settle(value, undefined),
        (err: unknown) => this.settle(undefined, err instanceof Error ? err : new Error(String(err))),
      )
    } else {
      this.settled = true
      this.value = source.value
    }
  }

  /** The result as a promise (the iterator transports read it this way). */
  get promise(): Promise<T> {
    if (this.pending) return this.pending
    return this.error ? Promise.reject(this.error) : Promise.resolve(this.value as T)
  }

  /** The JSON text of the result, made once for every subscriber that gets it. */
  get text(): string {
    return textOf(this.value)
  }

  /** The JSON text as UTF-8 bytes, made once (socket frames copy it). */
  get bytes(): Buffer {
    this.encoded ??= Buffer.from(this.text)
    return this.encoded
  }

  /** Runs `wake` once settled (at once if it is). */
  whenSettled(wake: () => void): void {
    if (this.settled) {
      wake()
      return
    }
    this.waiters ??= []
    this.waiters.push(wake)
  }

  private settle(value: T | undefined, error: Error | undefined): void {
    this.value = value
    this.error = error
    this.settled = true
    this.pending = undefined
    const waiters = this.waiters
    this.waiters = undefined
    if (waiters) for (const wake of waiters) wake()
  }
}
