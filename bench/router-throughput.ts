// Router throughput: one deep cross-subgraph query over the real supergraph, against three routers
// in turn on the same real subgraphs, the same data and the same supergraph SDL:
//   ours          router/src (buildRouter, via router/src/main.ts), as in production
//   stock_gateway @apollo/gateway + Apollo Server's startStandaloneServer, defaults
//   hive_gateway  @graphql-hive/gateway's CLI in supergraph-file mode, defaults
// Identity: the query reads the caller's own reservations, so subgraphs need GDmarket's internal
// secret and caller headers. Ours derives them from the bearer token (and pays for verifying it);
// the peers are configured to send the identical x-gdmarket-* headers statically. Every router
// must answer the query with byte-identical data before it is loaded.
// Also ours with SUBGRAPH_DEDUPE_QUERIES=0 ("ours_no_dedupe"): every client's query reaches the
// subgraphs, as with the stock gateway (Hive Gateway shares identical in-flight queries by default,
// as ours does), so the effect of that one feature on this all-identical workload is visible.
// Every router process runs with the same NODE_OPTIONS (BENCH_ROUTER_NODE_OPTIONS, default a 32 MiB
// young generation: the gateways allocate a lot per request and scavenges dominated the profile).
// Then a soak: ours under the same load for BENCH_SOAK_S (default 60 s; `--full-soak` = 300 s),
// RSS sampled every 2 s; growth compares medians after a warm-up (see soakOurs).
import { writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { composeSupergraph, SUBGRAPH_NAMES, type SubgraphUrls } from '../router/src/supergraph.js'
import { freePort, ROOT, sleep } from '../test/harness.js'
import { load, round, type LoadResult } from './lib/load.js'
import { must, nameOf, seed, startMarket, type Market } from './lib/market.js'
import { rssMb, spawnNode, type Spawned } from './lib/proc.js'
import type { BenchPart } from './run.js'

const CONNECTIONS = 50
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 5)
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 20)
const SOAK_S = process.argv.includes('--full-soak') ? 300 : Number(process.env.BENCH_SOAK_S ?? 60)
const SETTLE_MS = 15_000
const SOAK_SAMPLE_MS = 2000
const SOAK_WARMUP_S = 20
const ROUTER_NODE_OPTIONS =
  `${process.env.NODE_OPTIONS ?? ''} ${process.env.BENCH_ROUTER_NODE_OPTIONS ?? '--max-semi-space-size=32'}`.trim()

/**
 * Four subgraphs; the deepest chain is four sequential fetches:
 * reservations (reservation) → payment (payment) → reservation (reservation) → item (item),
 * beside itemInfos (projections) → item (item). No schema change was needed.
 */
export const DEEP_QUERY = `query Deep($owner: ID!) {
  reservations {
    id status paymentStatus rentalStatus createdAt
    item { id name price }
    payment {
      id amount status
      reservation { id status customerName item { id name ownerId status rentalStatus } }
    }
  }
  itemInfos(ownerId: $owner) {
    itemId itemName reservationStatus paymentStatus version
    item { id name price status }
  }
}`

export type RouterName = 'ours' | 'ours_no_dedupe' | 'stock_gateway' | 'hive_gateway'

interface RouterUnderTest {
  url: string
  pid: number
  stop(): Promise<void>
}

async function startOurs(market: Market, instance: 'router' | 'router-no-dedupe'): Promise<RouterUnderTest> {
  const env = { NODE_OPTIONS: ROUTER_NODE_OPTIONS }
  if (instance === 'router') await market.stack.start('router')
  const svc =
    instance === 'router'
      ? market.stack.running.get('router')
      : await market.stack.startInstance(instance, 'router', { ...env, SUBGRAPH_DEDUPE_QUERIES: '0' })
  if (!svc?.child.pid) throw new Error(`${instance} did not start`)
  return { url: svc.url, pid: svc.child.pid, stop: async () => void (await market.stack.stop(instance, 'SIGKILL')) }
}

async function startPeer(
  name: 'stock_gateway' | 'hive_gateway',
  supergraphFile: string,
  headers: Record<string, string>,
): Promise<RouterUnderTest> {
  const port = await freePort()
  const env = {
    NODE_ENV: 'production',
    NODE_OPTIONS: ROUTER_NODE_OPTIONS,
    PORT: String(port),
    SUPERGRAPH_FILE: supergraphFile,
    BENCH_SUBGRAPH_HEADERS: JSON.stringify(headers),
  }
  const url = `http://127.0.0.1:${port}/graphql`
  let proc: Spawned
  if (name === 'stock_gateway') {
    proc = await spawnNode(
      ['--import', 'tsx', path.join(ROOT, 'bench/lib/stock-gateway.ts')],
      env,
      `${url}?query=%7B__typename%7D`,
    )
  } else {
    proc = await spawnNode(hiveGatewayArgs(supergraphFile, port), env, `http://127.0.0.1:${port}/readiness`)
  }
  return { url, pid: proc.pid, stop: proc.stop }
}

function hiveGatewayArgs(supergraphFile: string, port: number): string[] {
  const bin = path.join(ROOT, 'node_modules/@graphql-hive/gateway/dist/bin.js')
  const config = path.join(ROOT, 'bench/lib/hive-gateway.config.ts')
  return [
    '--import',
    'tsx',
    bin,
    'supergraph',
    supergraphFile,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '-c',
    config,
  ]
}

export interface RouterRun extends LoadResult {
  warmup_rps: number
}

/** The one request every router is measured with, and what it must answer. */
interface Workload {
  body: string
  headers: Record<string, string>
  bearer: string
  owner: string
}

type Seeded = Awaited<ReturnType<typeof seed>>
const ROUTERS = ['ours', 'ours_no_dedupe', 'stock_gateway', 'hive_gateway'] as const

export const routerThroughputBench: BenchPart = {
  name: 'router',
  run: async () => {
    const market = await startMarket(['item', 'reservation', 'payment', 'projections'], {
      NODE_OPTIONS: ROUTER_NODE_OPTIONS,
    })
    const { stack } = market
    try {
      await stack.allocatePorts()
      const urls = Object.fromEntries(SUBGRAPH_NAMES.map(n => [n, stack.url(n)])) as SubgraphUrls
      const supergraphFile = path.join(stack.tmp, 'supergraph.graphql')
      writeFileSync(supergraphFile, composeSupergraph(urls))

      let router = await startOurs(market, 'router')
      const seeded = await seedThenSettle(market, router.url)
      const loadavgAtStart = round(os.loadavg()[0])
      const caller = { userId: seeded.renters[0], name: nameOf(seeded.renters[0]), roles: ['renter' as const] }
      const bearer = await market.tokenFor(caller.userId, caller.roles)
      const work: Workload = {
        body: JSON.stringify({ query: DEEP_QUERY, variables: { owner: seeded.owners[0] } }),
        headers: { authorization: `Bearer ${bearer}` },
        bearer,
        owner: seeded.owners[0],
      }
      const peerHeaders = market.subgraphHeaders(caller)

      const results = {} as Record<RouterName, RouterRun>
      let golden: string | undefined
      let soak: Record<string, number | number[]> | undefined
      for (const name of ROUTERS) {
        if (name === 'ours_no_dedupe') router = await startOurs(market, 'router-no-dedupe')
        else if (name !== 'ours') router = await startPeer(name, supergraphFile, peerHeaders)
        try {
          golden = await sameAnswer(name, router, work, golden)
          results[name] = await measure(name, router, work)
          if (name === 'ours' && SOAK_S > 0) soak = await soakOurs(router, work.body, work.headers)
        } finally {
          await router.stop()
        }
        await sleep(1000) // let sockets and subgraph pools settle between routers
      }
      return { router: summary(seeded, loadavgAtStart, results), ...(soak ? { soak } : {}) }
    } finally {
      await stack.dispose()
    }
  },
}

async function seedThenSettle(market: Market, routerUrl: string): Promise<Seeded> {
  const started = Date.now()
  const seeded = await seed(market, routerUrl)
  const s = Math.round((Date.now() - started) / 1000)
  console.error(
    `bench: seeded ${seeded.items.length} items and ${seeded.reservations.length} paid reservations in ${s} s`,
  )
  // Let the seeding's aftermath (outbox relays, projections, autovacuum) settle before the first router is measured.
  await sleep(SETTLE_MS)
  return seeded
}

/** Same answer from every router, or the comparison means nothing: returns the answer all must give. */
async function sameAnswer(name: RouterName, router: RouterUnderTest, work: Workload, golden?: string) {
  const text = JSON.stringify(await must(router.url, DEEP_QUERY, { owner: work.owner }, work.bearer))
  if (golden !== undefined && text !== golden)
    throw new Error(`${name} answers differently:\n${text.slice(0, 500)}\nvs ours:\n${golden.slice(0, 500)}`)
  return golden ?? text
}

async function measure(name: RouterName, router: RouterUnderTest, work: Workload): Promise<RouterRun> {
  console.error(`bench: ${name}: warm-up ${WARMUP_S} s, then ${DURATION_S} s at ${CONNECTIONS} connections`)
  const at = (durationS: number) =>
    load({
      url: router.url,
      body: work.body,
      headers: work.headers,
      connections: CONNECTIONS,
      durationS,
      pid: router.pid,
    })
  const warm = await at(WARMUP_S)
  return { ...(await at(DURATION_S)), warmup_rps: warm.rps }
}

function summary(seeded: Seeded, loadavgAtStart: number, results: Record<RouterName, RouterRun>) {
  const ratio = (a: RouterName, b: RouterName, of: 'rps' | 'cpu_ms_per_req') => round(results[a][of] / results[b][of])
  return {
    query: 'reservations → payment → reservation → item (4 sequential fetches) + itemInfos → item; 4 subgraphs',
    data: {
      items: seeded.items.length,
      reservations: seeded.reservations.length,
      caller_reservations: seeded.reservations.length / seeded.renters.length,
    },
    connections: CONNECTIONS,
    duration_s: DURATION_S,
    router_node_options: ROUTER_NODE_OPTIONS,
    // Other work on the machine when measuring began (1-minute load average; 2 cores here).
    loadavg_at_start: loadavgAtStart,
    ...results,
    ratios: {
      rps_ours_vs_stock: ratio('ours', 'stock_gateway', 'rps'),
      rps_ours_vs_hive: ratio('ours', 'hive_gateway', 'rps'),
      cpu_per_req_ours_vs_stock: ratio('ours', 'stock_gateway', 'cpu_ms_per_req'),
      cpu_per_req_ours_vs_hive: ratio('ours', 'hive_gateway', 'cpu_ms_per_req'),
      rps_ours_no_dedupe_vs_stock: ratio('ours_no_dedupe', 'stock_gateway', 'rps'),
      cpu_per_req_ours_no_dedupe_vs_stock: ratio('ours_no_dedupe', 'stock_gateway', 'cpu_ms_per_req'),
    },
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.floor(s.length / 2)] : NaN
}

/**
 * Ours under the same load for SOAK_S; RSS every 2 s. The first fifth (at least 20 s) is warm-up. RSS saw-tooths
 * with the garbage collector, so growth compares the median of the first third of the remaining
 * samples with the median of the last third, not two single samples.
 */
async function soakOurs(
  router: RouterUnderTest,
  body: string,
  headers: Record<string, string>,
): Promise<Record<string, number | number[]>> {
  console.error(`bench: soak of ours for ${SOAK_S} s`)
  const samples: number[] = []
  const r = await load({
    url: router.url,
    body,
    headers,
    connections: CONNECTIONS,
    durationS: SOAK_S,
    pid: router.pid,
    sample: { everyMs: SOAK_SAMPLE_MS, fn: () => void samples.push(round(rssMb(router.pid), 1)) },
  })
  const steady = samples.slice(
    Math.max(Math.floor(samples.length / 5), Math.ceil((SOAK_WARMUP_S * 1000) / SOAK_SAMPLE_MS)),
  )
  const third = Math.max(1, Math.floor(steady.length / 3))
  const early = median(steady.slice(0, third))
  const late = median(steady.slice(-third))
  return {
    duration_s: SOAK_S,
    rps: r.rps,
    p99_ms: r.p99_ms,
    errors: r.errors + r.non_2xx + r.graphql_errors,
    rss_early_median_mb: early,
    rss_late_median_mb: late,
    rss_max_mb: Math.max(...samples),
    rss_growth_pct: round(((late - early) / early) * 100, 1),
    rss_samples_mb: samples,
  }
}
