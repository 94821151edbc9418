// One subscriber's buffer: an async iterator over the results pushed for one subscription, in the
// order they were pushed. It is bounded: graphql-ws pulls the next result only once the previous
// one was written to the socket, so a client that stops reading makes the buffer fill up; past
// `capacity` the subscriber is cut off instead of letting the router's memory grow.
// Not an async generator: a generator's return() cannot interrupt a pending `await`, so an
// unsubscribe would leak until the next event; return() here resolves pending pulls at once.

export class SlowSubscriberError extends Error {
  override name = 'SlowSubscriberError'
}

export interface QueueOptions {
  /** Results waiting to be pulled before the subscriber counts as too slow. */
  capacity: number
  /** Called once when the buffer overflowed (the connection should be closed). */
  onOverflow: () => void
  /** Called once when the queue stops taking results, for whatever reason (detach it from the source). */
  onEnd: () => void
}

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true }

export class SubscriberQueue<T> implements AsyncIterableIterator<T, undefined> {
  private readonly buffered: Promise<T>[] = []
  private readonly waiting: ((result: Promise<IteratorResult<T, undefined>>) => void)[] = []
  private state: 'open' | 'overflowed' | 'ended' = 'open'
  private detached = false

  constructor(private readonly options: QueueOptions) {}

  /** Number of results not yet pulled. */
  get length(): number {
    return this.buffered.length
  }

  /** Adds a result; it may still be computing (shared executions), order is kept regardless. */
  push(result: Promise<T>): void {
    if (this.state !== 'open') return
    const waiter = this.waiting.shift()
    if (waiter) {
      waiter(result.then(value => ({ value, done: false })))
      return
    }
    if (this.buffered.length >= this.options.capacity) {
      this.overflow()
      return
    }
    this.buffered.push(result)
  }

  next(): Promise<IteratorResult<T, undefined>> {
    const head = this.buffered.shift()
    if (head) return head.then(value => ({ value, done: false }))
    if (this.state === 'overflowed') {
      // Reported once, as a GraphQL error on this subscription (if the socket still takes it).
      this.state = 'ended'
      return Promise.reject(
        new SlowSubscriberError(`subscriber too slow: more than ${this.options.capacity} events waiting`),
      )
    }
    if (this.state === 'ended') return Promise.resolve(DONE)
    return new Promise(resolve => this.waiting.push(resolve))
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this.end()
    return Promise.resolve(DONE)
  }

  throw(error?: unknown): Promise<IteratorResult<T, undefined>> {
    this.end()
    return Promise.reject(error instanceof Error ? error : new Error(String(error)))
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  /** Stops taking results, drops what waits, and completes every pending pull. */
  end(): void {
    this.state = 'ended'
    this.buffered.length = 0
    for (const waiter of this.waiting.splice(0)) waiter(Promise.resolve(DONE))
    this.detach()
  }

  private overflow(): void {
    this.state = 'overflowed'
    this.buffered.length = 0
    this.detach()
    this.options.onOverflow()
  }

  private detach(): void {
    if (this.detached) return
    this.detached = true
    this.options.onEnd()
  }
}
