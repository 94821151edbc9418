// One bounded autocannon run against a GraphQL endpoint on loopback, with what the router process
// spent on it: RPS, latency percentiles (from every response, not autocannon's buckets), errors of
// every kind (connection, non-2xx, a body carrying GraphQL "errors"), CPU ms per request and RSS.
import autocannon from 'autocannon'
import { cpuMs, rssMb } from './proc.js'

export interface LoadOptions {
  url: string
  /** The JSON body sent with every request. */
  body: string
  headers: Record<string, string>
  connections: number
  durationS: number
  /** The process whose CPU and memory are charged to the requests. */
  pid: number
  /** Called every `sampleEveryMs` during the run (e.g. RSS samples for a soak). */
  sample?: { everyMs: number; fn: () => void }
}

export interface LoadResult {
  requests: number
  rps: number
  p50_ms: number
  p95_ms: number
  p99_ms: number
  errors: number
  non_2xx: number
  graphql_errors: number
  cpu_ms_per_req: number
  /** CPU share of one core the process used during the run (1 = a whole core). */
  cpu_cores: number
  rss_mb: number
}

export const percentile = (sorted: number[], p: number): number =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN
export const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits

export async function load(o: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = []
  const cpuBefore = cpuMs(o.pid)
  const started = performance.now()
  const timer = o.sample ? setInterval(o.sample.fn, o.sample.everyMs) : undefined
  const result = await autocannon({
    url: o.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...o.headers },
    body: o.body,
    connections: o.connections,
    duration: o.durationS,
    // A 200 that carries GraphQL errors is a failure too (a partial answer is not a served request).
    verifyBody: body => !String(body).includes('"errors"'),
    setupClient: client => {
      client.on('response', (_status: number, _bytes: number, ms: number) => void latencies.push(ms))
    },
  })
  const elapsedMs = performance.now() - started
  if (timer) clearInterval(timer)
  const cpu = cpuMs(o.pid) - cpuBefore
  latencies.sort((a, b) => a - b)
  const requests = result.requests.total
  return {
    requests,
    rps: round(requests / (elapsedMs / 1000), 1),
    p50_ms: round(percentile(latencies, 50)),
    p95_ms: round(percentile(latencies, 95)),
    p99_ms: round(percentile(latencies, 99)),
    errors: result.errors + result.timeouts,
    non_2xx: result.non2xx,
    graphql_errors: result.mismatches,
    cpu_ms_per_req: round(cpu / Math.max(1, requests), 3),
    cpu_cores: round(cpu / elapsedMs),
    rss_mb: round(rssMb(o.pid), 1),
  }
}
