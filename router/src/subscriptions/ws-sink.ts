// graphql-ws's own loop pulls each result, awaits a hook, validates and stringifies the whole
// message and awaits the write, per subscriber and event: at 10,000 subscribers of one change that
// was most of the fan-out. A subscription's results are written here instead, straight from its
// queue as they settle: the shared JSON text of the result (serialised once per result, not per
// subscriber) inside a `next` message for this operation id. graphql-ws still owns the protocol,
// errors and `complete`: it gets an iterator that ends when the queue does.
import type { ExecutionResult } from 'graphql'
import type { WebSocket } from 'ws'
import type { SubscriberQueue } from './queue.js'

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true }

export function writeToSocket(
  queue: SubscriberQueue<ExecutionResult>,
  socket: WebSocket,
  id: string,
): AsyncIterableIterator<ExecutionResult, undefined> {
  const prefix = `{"id":${JSON.stringify(id)},"type":"next","payload":`
  // Set when a write stayed in the socket's buffer: the queue waits for that write's callback.
  let draining = false
  const written = (err?: Error) => {
    if (!draining) return
    draining = false
    if (!err) queue.resume()
  }
  let resolveEnd!: (result: IteratorResult<ExecutionResult, undefined>) => void
  let rejectEnd!: (error: Error) => void
  const ended = new Promise<IteratorResult<ExecutionResult, undefined>>((resolve, reject) => {
    resolveEnd = resolve
    rejectEnd = reject
  })
  // It may fail before graphql-ws asks for it (a replay that fails at once): not unhandled.
  ended.catch(() => undefined)
  queue.writeTo({
    write: result => {
      if (socket.readyState !== socket.OPEN) return true
      socket.send(`${prefix}${result.text}}`, written)
      if (socket.bufferedAmount === 0) return true
      draining = true
      return false
    },
    close: error => (error ? rejectEnd(error) : resolveEnd(DONE)),
  })
  const iterator: AsyncIterableIterator<ExecutionResult, undefined> = {
    next: () => ended,
    return: () => queue.return(),
    throw: error => queue.throw(error),
    [Symbol.asyncIterator]: () => iterator,
  }
  return iterator
}
