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
  private state: 'open' | 'overflowed' | 'failed' | 'ended' = 'open'
  private failure: Error | undefined
  private detached = false
  /** A replay waiting for room, so it never overflows the buffer it fills itself. */
  private roomWaiter: (() => void) | undefined

  constructor(private readonly options: QueueOptions) {}

  /** Number of results not yet pulled. */
  get length(): number {
    return this.buffered.length
  }

  /** False once the subscriber is gone (or cut off): a replay stops reading for it. */
  get open(): boolean {
    return this.state === 'open'
  }

  /** Resolves once fewer than half the buffer's results wait (at once if so already). */
  room(): Promise<void> {
    if (this.state !== 'open' || this.buffered.length < this.options.capacity / 2) return Promise.resolve()
    return new Promise(resolve => {
      this.roomWaiter = resolve
    })
  }

  /** Ends the subscription with an error once what is buffered has been pulled (CURSOR_EXPIRED…). */
  fail(error: Error): void {
    if (this.state !== 'open') return
    this.state = 'failed'
    this.failure = error
    this.detach()
    this.wakeRoom()
    for (const waiter of this.waiting.splice(0)) waiter(Promise.reject(error))
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
    if (this.roomWaiter && this.buffered.length < this.options.capacity / 2) this.wakeRoom()
    if (head) return head.then(value => ({ value, done: false }))
    if (this.state === 'failed') {
      this.state = 'ended'
      return Promise.reject(this.failure)
    }
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
    this.wakeRoom()
    for (const waiter of this.waiting.splice(0)) waiter(Promise.resolve(DONE))
    this.detach()
  }

  private wakeRoom(): void {
    const waiter = this.roomWaiter
    this.roomWaiter = undefined
    waiter?.()
  }

  private overflow(): void {
    this.state = 'overflowed'
    this.buffered.length = 0
    this.wakeRoom()
    this.detach()
    this.options.onOverflow()
  }

  private detach(): void {
    if (this.detached) return
    this.detached = true
    this.options.onEnd()
  }
}
