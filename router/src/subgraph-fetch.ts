// How the router talks HTTP to subgraphs: pooled keep-alive connections (one TCP/TLS handshake per
// socket, not per request), a cap on sockets per subgraph, a deadline for the whole exchange and a
// cap on the response size, so a slow or misbehaving subgraph cannot hold the router's resources.
import http from 'node:http'
import https from 'node:https'
import type { RemoteGraphQLDataSource } from '@apollo/gateway'
import { CORRELATION_HEADER } from '@gdmarket/platform/identity'

export type Fetcher = RemoteGraphQLDataSource['fetcher']
type FetcherRequestInit = NonNullable<Parameters<Fetcher>[1]>
type FetcherResponse = Awaited<ReturnType<Fetcher>>

export interface SubgraphFetchLimits {
  subgraphTimeoutMs: number
  subgraphMaxSockets: number
  subgraphMaxResponseBytes: number
  /** Idle pooled sockets close after this; below the subgraphs' keepAliveTimeout (65 s) so we close first. */
  subgraphKeepAliveMs: number
  /** Share identical in-flight queries (see below); default true. */
  subgraphDedupeQueries?: boolean
}

/** The subgraph did not answer in time, could not be reached, or answered too much: "try again later". */
export class SubgraphUnreachableError extends Error {
  override name = 'SubgraphUnreachableError'
}

export interface SubgraphFetch {
  fetcher: Fetcher
  /** Closes pooled sockets (on shutdown, after in-flight requests have drained). */
  close(): void
}

// These statuses carry no body (whatever bytes a broken subgraph might send).
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304])

/** A subgraph's complete answer, read once and shared by every request that waited on it. */
interface Answer {
  url: string
  status: number
  statusText: string
  /** Only read (content-type, cache-control), so one instance serves every waiter. */
  headers: Headers
  body: Buffer
}

const EMPTY = Buffer.alloc(0)

/**
 * What the gateway reads of a subgraph answer (status, headers, json/text), over the buffered body.
 * Cheaper than a WHATWG Response, which wraps the body in a web stream and transfers it on json().
 */
class BufferedResponse implements FetcherResponse {
  bodyUsed = false
  readonly redirected = false
  readonly url: string
  readonly status: number
  readonly statusText: string
  readonly headers: Headers

  constructor(private readonly answer: Answer) {
    this.url = answer.url
    this.status = answer.status
    this.statusText = answer.statusText
    this.headers = answer.headers
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300
  }

  async text(): Promise<string> {
    this.bodyUsed = true
    return this.answer.body.toString('utf8')
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text())
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    this.bodyUsed = true
    return new Uint8Array(this.answer.body).buffer
  }

  clone(): BufferedResponse {
    return new BufferedResponse(this.answer)
  }
}

// The gateway sends {"query":"<operation>",…}; only an operation that is plainly a query is shared.
const QUERY_BODY = /^\{"query":"(query\b|\{)/

/** Undefined when the request must not be shared (not a query, or a body we do not recognise). */
function dedupeKey(url: string, init: FetcherRequestInit): string | undefined {
  if ((init.method ?? 'POST') !== 'POST' || typeof init.body !== 'string' || !QUERY_BODY.test(init.body))
    return undefined
  // Everything that can change the answer is in the key: the caller and the secret included. The
  // correlation id is not (it only labels the logs of the one request that reaches the subgraph).
  const headers = Object.entries(init.headers ?? {})
    .filter(([name]) => name.toLowerCase() !== CORRELATION_HEADER)
    .map(([name, value]) => `${name.toLowerCase()}:${value}`)
    .sort()
    .join('\n')
  return `${url}\n${headers}\n${init.body}`
}

type Agents = Record<'http:' | 'https:', http.Agent>

export function createSubgraphFetch(limits: SubgraphFetchLimits): SubgraphFetch {
  const agentOptions = { keepAlive: true, maxSockets: limits.subgraphMaxSockets, timeout: limits.subgraphKeepAliveMs }
  const agents: Agents = { 'http:': new http.Agent(agentOptions), 'https:': new https.Agent(agentOptions) }
  const send = (url: string, init: FetcherRequestInit) => sendOnce(url, init, agents, limits)
  return {
    fetcher:
      limits.subgraphDedupeQueries === false
        ? async (url, init = {}) => new BufferedResponse(await send(url, init))
        : sharedFetcher(send),
    close() {
      agents['http:'].destroy()
      agents['https:'].destroy()
    },
  }
}

/**
 * Identical queries in flight at the same time (same subgraph, same body, same caller and secret)
 * share one subgraph request: a popular query under load costs the subgraph once per round trip,
 * not once per client (what Hive Gateway and Apollo Router do by default too). Only queries:
 * a mutation always reaches the subgraph. Each waiter parses its own copy of the body.
 */
function sharedFetcher(send: (url: string, init: FetcherRequestInit) => Promise<Answer>): Fetcher {
  const inflight = new Map<string, Promise<Answer>>()
  return async (url, init = {}) => {
    const key = dedupeKey(url, init)
    if (key === undefined) return new BufferedResponse(await send(url, init))
    let answer = inflight.get(key)
    if (!answer) {
      answer = send(url, init).finally(() => inflight.delete(key))
      inflight.set(key, answer)
    }
    return new BufferedResponse(await answer)
  }
}

/** One request to a subgraph, its whole answer read within the deadline and under the size cap. */
function sendOnce(url: string, init: FetcherRequestInit, agents: Agents, limits: SubgraphFetchLimits): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url)
    const body = init.body ?? ''
    const request = (target.protocol === 'https:' ? https : http).request(target, {
      method: init.method ?? 'POST',
      headers: { ...init.headers, 'content-length': String(Buffer.byteLength(body)) },
      agent: target.protocol === 'https:' ? agents['https:'] : agents['http:'],
    })
    let done = false
    const settle = () => {
      if (done) return false
      done = true
      clearTimeout(timer)
      return true
    }
    const fail = (err: Error) => {
      if (!settle()) return
      request.destroy() // the socket is in an unknown state: never return it to the pool
      reject(err instanceof SubgraphUnreachableError ? err : new SubgraphUnreachableError(err.message, { cause: err }))
    }
    // One deadline for connect + send + the complete response, not per socket event.
    const timer = setTimeout(
      () => fail(new SubgraphUnreachableError(`no complete answer within ${limits.subgraphTimeoutMs} ms`)),
      limits.subgraphTimeoutMs,
    )
    request.on('error', fail)
    request.on('response', response => {
      const chunks: Buffer[] = []
      let size = 0
      response.on('error', fail)
      response.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > limits.subgraphMaxResponseBytes)
          fail(new SubgraphUnreachableError(`response over ${limits.subgraphMaxResponseBytes} bytes`))
        else chunks.push(chunk)
      })
      response.on('end', () => {
        if (settle()) resolve(answerOf(url, response, chunks))
      })
    })
    request.end(body)
  })
}

function answerOf(url: string, response: http.IncomingMessage, chunks: Buffer[]): Answer {
  const status = response.statusCode ?? 502
  const headers = new Headers()
  for (const [name, value] of Object.entries(response.headers)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, v)
  }
  return {
    url,
    status,
    statusText: response.statusMessage ?? '',
    headers,
    body: NULL_BODY_STATUSES.has(status) ? EMPTY : Buffer.concat(chunks),
  }
}
