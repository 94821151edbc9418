// Bounds on open subscription connections, shared by every transport (a WebSocket, an SSE stream,
// a multipart response): at most `maxConnections` on this router, at most `maxPerCaller` for one
// caller (its user id when it sent a token, else its address), so one client cannot take every
// file descriptor the process may open.

export type Refusal = 'router' | 'caller'

export interface ConnectionCaps {
  maxConnections: number
  maxPerCaller: number
}

export class ConnectionLimits {
  private open = 0
  private readonly perCaller = new Map<string, number>()

  constructor(private readonly caps: ConnectionCaps) {}

  get connections(): number {
    return this.open
  }

  /**
   * Takes a place on the router for one connection (false: it is full); leave() gives it back. For
   * a transport that keeps a flag per connection instead of a release callback (WebSocket).
   */
  enter(): boolean {
    if (this.open >= this.caps.maxConnections) return false
    this.open++
    return true
  }

  leave(): void {
    this.open--
  }

  /** Takes a place for one more connection of `caller` (false: it has its maximum); leaveCaller() gives it back. */
  enterCaller(caller: string): boolean {
    const count = this.perCaller.get(caller) ?? 0
    if (count >= this.caps.maxPerCaller) return false
    this.perCaller.set(caller, count + 1)
    return true
  }

  leaveCaller(caller: string): void {
    const left = (this.perCaller.get(caller) ?? 1) - 1
    if (left > 0) this.perCaller.set(caller, left)
    else this.perCaller.delete(caller)
  }

  /** Both places at once (a transport that knows the caller when the connection opens). */
  admitBoth(caller: string): { release: () => void } | { refused: Refusal } {
    if (!this.enter()) return { refused: 'router' }
    if (!this.enterCaller(caller)) {
      this.leave()
      return { refused: 'caller' }
    }
    return {
      release: once(() => {
        this.leaveCaller(caller)
        this.leave()
      }),
    }
  }
}

function once(fn: () => void): () => void {
  let done = false
  return () => {
    if (done) return
    done = true
    fn()
  }
}

/** What a refusal says to the client, with the contract code that fits it. */
export function refusalMessage(refused: Refusal, caps: ConnectionCaps): { message: string; code: string } {
  return refused === 'router'
    ? {
        message: `this router holds its maximum of ${caps.maxConnections} subscription connections; try again later`,
        code: 'SERVICE_UNAVAILABLE',
      }
    : { message: `at most ${caps.maxPerCaller} subscription connections per caller`, code: 'RATE_LIMITED' }
}
