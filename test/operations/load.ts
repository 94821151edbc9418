// A bounded, steady HTTP load (autocannon, the Node counterpart of the original's siege) that keeps
// a timeline per request: when it was sent, when it ended and how. The timeline is what lets a
// test tell requests an instance accepted and failed from requests sent to it after it had said it
// was going (refused by a closed listener, or written by autocannon — which ignores
// `Connection: close` — onto a connection the server had announced it would close).
import autocannon from 'autocannon'

export interface LoadRequest {
  /** A GraphQL POST body. */
  body: string
  headers?: Record<string, string>
}

export interface LoadOptions {
  url: string
  /** Cycled through by every connection. */
  requests: LoadRequest[]
  connections: number
  /** Requests per second over all connections: a steady load, not a saturating one. */
  rate: number
  /** Hard bound; `stop()` usually ends it earlier. */
  maxSeconds: number
  /** Per request, in seconds. */
  timeoutSeconds?: number
}

export interface Failure {
  /** When the request was written. */
  sentAt: number
  at: number
  /** An HTTP status, a GraphQL error code, or a connection error code (ECONNREFUSED, ECONNRESET, timeout). */
  reason: string
}

export interface LoadReport {
  /** Responses received (any status). */
  responses: number
  /** 2xx with data and no GraphQL errors. */
  ok: number
  /** Non-2xx responses and 2xx responses carrying GraphQL errors. */
  badResponses: Failure[]
  /** Connection errors and timeouts: the request got no response at all. */
  connectionErrors: Failure[]
  /** When each successful response arrived (ms since epoch). */
  okTimes: number[]
  /** When each request that got a successful response was sent. */
  okSentTimes: number[]
  /** Requests sent that never got a response, an error or a timeout: autocannon drops the one it wrote onto a connection the server then closed. */
  unanswered: number[]
  startedAt: number
  finishedAt: number
  /** autocannon's own summary, for the numbers it prints. */
  result: autocannon.Result
}

export interface RunningLoad {
  /** Stops sending and resolves with the report once autocannon has wound down. */
  stop(): Promise<LoadReport>
  /** Successful responses so far. */
  okSoFar(): number
}

// Duck-typed: under Jest's VM modules, errors from Node's core are not `instanceof` the test's Error.
function errorCodeOf(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const { code, message } = err as { code?: unknown; message?: unknown }
    if (typeof code === 'string') return code
    if (typeof message === 'string') return /timed out/.test(message) ? 'timeout' : message
  }
  return String(err)
}

/** A GraphQL answer without errors and with data; otherwise the first error code. */
function graphqlProblem(body: string): string | null {
  try {
    const parsed = JSON.parse(body) as { data?: unknown; errors?: { extensions?: { code?: unknown } }[] }
    if (parsed.errors?.length) return String(parsed.errors[0].extensions?.code ?? 'GRAPHQL_ERROR')
    return parsed.data ? null : 'NO_DATA'
  } catch {
    return 'NOT_JSON'
  }
}

export function startLoad(o: LoadOptions): RunningLoad {
  const badResponses: Failure[] = []
  const connectionErrors: Failure[] = []
  const okTimes: number[] = []
  const okSentTimes: number[] = []
  const outstanding = new Set<number[]>()
  let responses = 0
  // The response being handled: its status and send time, set just before autocannon verifies its body.
  let current = { status: 0, sentAt: 0 }
  const startedAt = Date.now()

  // With pipelining 1 a connection has at most one request in flight; FIFO per connection.
  const setupClient = (client: autocannon.Client) => {
    const inFlight: number[] = []
    outstanding.add(inFlight)
    const events = client as NodeJS.EventEmitter
    events.on('request', () => inFlight.push(Date.now()))
    events.on('response', (status: number) => {
      responses++
      current = { status, sentAt: inFlight.shift() ?? Date.now() }
    })
    events.on('connError', (err: unknown) => {
      const at = Date.now()
      const reason = errorCodeOf(err)
      for (const sentAt of inFlight.length ? inFlight.splice(0) : [at]) connectionErrors.push({ sentAt, at, reason })
    })
    events.on('timeout', () =>
      connectionErrors.push({ sentAt: inFlight.shift() ?? Date.now(), at: Date.now(), reason: 'timeout' }),
    )
  }

  let resolveDone: (r: autocannon.Result) => void = () => {}
  let rejectDone: (e: unknown) => void = () => {}
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    resolveDone = resolve
    rejectDone = reject
  })
  const instance = autocannon(
    {
      url: o.url,
      method: 'POST',
      connections: o.connections,
      overallRate: o.rate,
      duration: o.maxSeconds,
      timeout: o.timeoutSeconds ?? 10,
      requests: o.requests.map(r => ({
        method: 'POST' as const,
        body: r.body,
        headers: { 'content-type': 'application/json', ...r.headers },
      })),
      setupClient,
      // Called for every complete response, right after the client's 'response' event set `current`.
      verifyBody: (body: string | Buffer | undefined) => {
        const { status, sentAt } = current
        const problem = status < 200 || status >= 300 ? `HTTP ${status}` : graphqlProblem(String(body ?? ''))
        if (problem) badResponses.push({ sentAt, at: Date.now(), reason: problem })
        else {
          okTimes.push(Date.now())
          okSentTimes.push(sentAt)
        }
        return problem === null
      },
    },
    (err: unknown, result: autocannon.Result) => (err ? rejectDone(err) : resolveDone(result)),
  )

  return {
    okSoFar: () => okTimes.length,
    async stop() {
      instance.stop()
      const result = await done
      // Each connection may have one request legitimately in flight when the load stops; anything
      // older on it was dropped (a later response was matched to it, so the send times are approximate).
      const unanswered = [...outstanding].flatMap(inFlight => inFlight.slice(0, -1))
      return {
        responses,
        ok: okTimes.length,
        badResponses,
        connectionErrors,
        okTimes,
        okSentTimes,
        unanswered,
        startedAt,
        finishedAt: Date.now(),
        result,
      }
    },
  }
}

/** "ECONNREFUSED×12, HTTP 502×3" */
export function tally(failures: Failure[]): string {
  const counts = new Map<string, number>()
  for (const f of failures) counts.set(f.reason, (counts.get(f.reason) ?? 0) + 1)
  return [...counts].map(([reason, n]) => `${reason}×${n}`).join(', ') || 'none'
}
