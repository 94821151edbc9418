// One subscriber's buffer of the results pushed for one subscription, in the order they were
// pushed, read in one of two ways: as an async iterator (SSE, multipart), or written straight to a
// sink (graphql-ws) as soon as the head result has settled, with no per-subscriber promise hop.
// It is bounded: a transport takes the next result only once the previous one was written to the
// socket, so a client that stops reading makes the buffer fill up; past `capacity` the subscriber
// is cut off instead of letting the router's memory grow.
// Not an async generator: a generator's return() cannot interrupt a pending `await`, so an
// unsubscribe would leak until the next event; return() here resolves pending pulls at once.
import { SharedResult } from './shared.js'

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

/** Where a queue in sink mode writes (a graphql-ws socket): results in order, then the end. */
export interface QueueSink<T> {
  /** Takes one settled result; false when the socket is full (it calls resume() once drained). */
  write(result: SharedResult<T>): boolean
  /** Several writes follow: hold them for one socket write. */
  cork?(): void
  /** Sends what was held; false when the socket is full (resume() follows). */
  uncork?(): boolean
  /** No more results: ended normally (no error) or the error the subscription ends with. */
  close(error?: Error): void
}

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true }
/** The shared empty buffer (never pushed to: push() gives a queue its own array first). */
// biome-ignore lint/suspicious/noExplicitAny: empty; typed per queue on read
const NONE: SharedResult<any>[] = []

export class SubscriberQueue<T> implements AsyncIterableIterator<T, undefined> {
  // Small per subscriber: arrays and callbacks are made only when first needed.
  private buffered: SharedResult<T>[] = NONE
  private waiting: ((result: Promise<IteratorResult<T, undefined>>) => void)[] | undefined
  private state: 'open' | 'overflowed' | 'failed' | 'ended' = 'open'
  private failure: Error | undefined
  private detached = false
  /** A replay waiting for room, so it never overflows the buffer it fills itself. */
  private roomWaiter: (() => void) | undefined
  private sink: QueueSink<T> | undefined
  /** The sink said it is full: nothing is written until resume(). */
  private paused = false
  /** The unsettled head a flush waits on (registered once). */
  private waitingOn: SharedResult<T> | undefined
  private flushBound: (() => void) | undefined
  /** Inside batch(): pushes wait, to be written together at its end. */
  private batching = false

  constructor(private readonly options: QueueOptions) {}

  /** Number of results not yet taken. */
  get length(): number {
    return this.buffered.length
  }

  /** Whether a replay may push another result now (the buffer is under half full). */
  get hasRoom(): boolean {
    return this.state === 'open' && this.buffered.length < this.options.capacity / 2
  }

  /**
   * Runs `pushes` (a replay's batch), then writes what they pushed together (one socket write for
   * the batch instead of one per result).
   */
  batch(pushes: () => void): void {
    this.batching = true
    try {
      pushes()
    } finally {
      this.batching = false
      this.flush()
    }
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

  /** Ends the subscription with an error once what is buffered has been taken (CURSOR_EXPIRED…). */
  fail(error: Error): void {
    if (this.state !== 'open') return
    this.state = 'failed'
    this.failure = error
    this.detach()
    this.wakeRoom()
    for (const waiter of this.takeWaiting()) waiter(Promise.reject(error))
    if (this.sink) this.flush()
  }

  /** Adds a result; it may still be computing (shared executions), order is kept regardless. */
  push(result: Promise<T> | SharedResult<T>): void {
    if (this.state !== 'open') return
    const entry = result instanceof SharedResult ? result : new SharedResult(result)
    if (this.sink) {
      if (this.buffered.length === 0 && !this.paused && !this.batching && entry.settled) {
        if (!this.writeOne(entry)) this.paused = true
        return
      }
    } else {
      const waiter = this.waiting?.shift()
      if (waiter) {
        waiter(entry.promise.then(value => ({ value, done: false })))
        return
      }
    }
    if (this.buffered.length >= this.options.capacity) {
      this.overflow()
      return
    }
    if (this.buffered === NONE) this.buffered = []
    this.buffered.push(entry)
    if (this.sink && this.buffered.length === 1 && !this.batching) this.flush()
  }

  /** From now on results go to `sink` as they settle, instead of being pulled. */
  writeTo(sink: QueueSink<T>): void {
    this.sink = sink
    this.flush()
  }

  /** The sink drained: write what waits. */
  resume(): void {
    this.paused = false
    this.flush()
  }

  next(): Promise<IteratorResult<T, undefined>> {
    const head = this.buffered.shift()
    if (this.roomWaiter && this.buffered.length < this.options.capacity / 2) this.wakeRoom()
    if (head) return head.promise.then(value => ({ value, done: false }))
    if (this.state === 'failed') {
      this.state = 'ended'
      return Promise.reject(this.failure)
    }
    if (this.state === 'overflowed') {
      // Reported once, as a GraphQL error on this subscription (if the socket still takes it).
      this.state = 'ended'
      return Promise.reject(this.slow())
    }
    if (this.state === 'ended') return Promise.resolve(DONE)
    this.waiting ??= []
    const waiting = this.waiting
    return new Promise(resolve => waiting.push(resolve))
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
    this.buffered = NONE
    this.wakeRoom()
    for (const waiter of this.takeWaiting()) waiter(Promise.resolve(DONE))
    this.detach()
    this.closeSink(undefined)
  }

  /** Writes every settled result at the head, in order, while the sink takes them. */
  private flush(): void {
    const sink = this.sink
    if (!sink || this.batching) return
    const corked = this.buffered.length > 1 && sink.cork !== undefined
    if (corked) sink.cork?.()
    while (this.buffered.length > 0 && !this.paused) {
      const head = this.buffered[0]
      if (!head.settled) {
        if (this.waitingOn !== head) {
          this.waitingOn = head
          this.flushBound ??= () => this.flush()
          head.whenSettled(this.flushBound)
        }
        break
      }
      this.buffered.shift()
      if (!this.writeOne(head)) this.paused = true
    }
    if (corked && sink.uncork?.() === false) this.paused = true
    if (this.roomWaiter && this.buffered.length < this.options.capacity / 2) this.wakeRoom()
    if (this.buffered.length === 0 && this.state === 'failed') {
      this.state = 'ended'
      this.closeSink(this.failure)
    }
  }

  private writeOne(entry: SharedResult<T>): boolean {
    if (entry.error) {
      this.fail(entry.error)
      return true
    }
    return this.sink?.write(entry) ?? true
  }

  private takeWaiting(): ((result: Promise<IteratorResult<T, undefined>>) => void)[] {
    const waiting = this.waiting ?? []
    this.waiting = undefined
    return waiting
  }

  private closeSink(error: Error | undefined): void {
    const sink = this.sink
    this.sink = undefined
    sink?.close(error)
  }

  private slow(): SlowSubscriberError {
    return new SlowSubscriberError(`subscriber too slow: more than ${this.options.capacity} events waiting`)
  }

  private wakeRoom(): void {
    const waiter = this.roomWaiter
    this.roomWaiter = undefined
    waiter?.()
  }

  private overflow(): void {
    this.state = 'overflowed'
    this.buffered = NONE
    this.wakeRoom()
    this.detach()
    this.options.onOverflow()
    if (this.sink) {
      this.state = 'ended'
      this.closeSink(this.slow())
    }
  }

  private detach(): void {
    if (this.detached) return
    this.detached = true
    this.options.onEnd()
  }
}
