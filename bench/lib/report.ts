// Turns a run's results into bench/README.md (method, machine, tables) and bench/results/latest.svg
// (RPS and CPU per request per router, side by side). Both are rewritten by every `npm run bench`.
import { writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

type Json = Record<string, unknown>
const ROUTERS = [
  ['ours', 'ours (router/src)'],
  ['ours_no_dedupe', 'ours, no dedupe'],
  ['stock_gateway', 'stock @apollo/gateway'],
  ['hive_gateway', 'Hive Gateway'],
] as const

const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {})
const num = (v: unknown): number => (typeof v === 'number' ? v : NaN)
const fmt = (v: unknown): string =>
  typeof v === 'number'
    ? String(Math.round(v * 100) / 100)
    : typeof v === 'string'
      ? v
      : v === undefined
        ? '–'
        : JSON.stringify(v)
const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')

/** Two bar charts side by side: RPS (higher is better) and router CPU ms per request (lower is better). */
export function chartSvg(results: Json): string {
  const router = obj(results.router)
  const charts = [
    { title: 'Requests per second (higher is better)', key: 'rps' },
    { title: 'Router CPU ms per request (lower is better)', key: 'cpu_ms_per_req' },
  ]
  const colors = ['#2b8a3e', '#8ce99a', '#5c7cfa', '#f08c00']
  const w = 470
  const h = 240
  const parts: string[] = []
  charts.forEach((c, ci) => {
    const x0 = ci * (w + 40) + 20
    const values = ROUTERS.map(([k]) => num(obj(router[k])[c.key]))
    const max = Math.max(...values.filter(Number.isFinite), 1e-9)
    parts.push(`<text x="${x0}" y="20" font-size="14" font-weight="bold">${escapeXml(c.title)}</text>`)
    ROUTERS.forEach(([, label], i) => {
      const v = values[i]
      const bh = Number.isFinite(v) ? (v / max) * (h - 80) : 0
      const bx = x0 + 20 + i * 110
      const by = h - 30 - bh
      parts.push(`<rect x="${bx}" y="${by}" width="80" height="${bh}" fill="${colors[i]}"/>`)
      parts.push(`<text x="${bx + 40}" y="${by - 5}" font-size="12" text-anchor="middle">${fmt(v)}</text>`)
      parts.push(`<text x="${bx + 40}" y="${h - 12}" font-size="11" text-anchor="middle">${escapeXml(label)}</text>`)
    })
  })
  const caption = `GDmarket router bench, ${String(results.date ?? '')}, ${os.cpus().length} cores, Node ${process.version}`
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * w + 80}" height="${h + 30}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${parts.join('\n')}
<text x="20" y="${h + 20}" font-size="11" fill="#555">${escapeXml(caption)}</text>
</svg>
`
}

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map(r => `| ${r.join(' | ')} |`),
  ].join('\n')
}

/** Every leaf of a fragment as "a.b.c" → value. */
function leaves(prefix: string, value: unknown): [string, string][] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value))
    return Object.entries(value).flatMap(([k, v]) => leaves(prefix ? `${prefix}.${k}` : k, v))
  return [[prefix, fmt(value)]]
}

export function readme(results: Json): string {
  const router = obj(results.router)
  const cols = [
    'rps',
    'p50_ms',
    'p95_ms',
    'p99_ms',
    'errors',
    'non_2xx',
    'graphql_errors',
    'cpu_ms_per_req',
    'cpu_cores',
    'rss_mb',
  ] as const
  const routerTable = table(
    ['router', ...cols],
    ROUTERS.map(([k, label]) => [label, ...cols.map(c => fmt(obj(router[k])[c]))]),
  )
  const handled = new Set(['date', 'host', 'router'])
  const others = Object.entries(results).filter(([k]) => !handled.has(k))
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
  return `# Benchmarks

\`npm run bench\` runs every part below against real processes on loopback (own PostgreSQL
databases, SQLite file and JetStream stream per part; nothing shared with \`npm start\`), writes
\`bench/results/<date>.json\` and \`bench/results/latest.json\`, prints a table, and rewrites this
file and the chart. Parts: \`npm run bench -- router write subscriptions\` runs only those named.
\`--full-soak\` makes the router soak 5 minutes (default \`BENCH_SOAK_S=60\`); \`BENCH_DURATION_S\`
(20), \`BENCH_WARMUP_S\` (5) and \`BENCH_WRITE_S\` (20) set the other windows.

**Last run:** ${String(results.date ?? '')} · ${os.cpus().length} cores (${escapeXml(cpu)}) · Node ${process.version} · ${os.platform()} ${os.release()}.
1-minute load average when the routers' measurements began: ${fmt(router.loadavg_at_start)} (other work on the
machine makes every number noisier). Load generator, routers and all subgraphs share this machine, so whole-system numbers are bounded
by the subgraphs and the load generator as much as by the router.

![RPS and CPU per request per router](results/latest.svg)

## Router throughput

One query over the real supergraph, the deepest chain being four sequential subgraph fetches
through four subgraphs — \`reservations\` (reservation) → \`payment\` (payment) → \`reservation\`
(reservation) → \`item\` (item), beside \`itemInfos\` (projections) → \`item\` (item); no schema
change. Data: ${fmt(obj(router.data).items)} items and ${fmt(obj(router.data).reservations)} paid
reservations seeded through the real mutations (saga and projections included); the caller holds
${fmt(obj(router.data).caller_reservations)} of them. Three routers (four runs) in turn, on the same subgraph
processes and the same supergraph SDL (\`router/supergraph.graphql\` composed with the bench's
subgraph urls), each as its own process: **ours** (\`router/src\`, NODE_ENV=production, default
log level), **stock** \`@apollo/gateway\` + Apollo Server \`startStandaloneServer\` with defaults
(\`bench/lib/stock-gateway.ts\`), and **Hive Gateway** (\`@graphql-hive/gateway\` CLI, supergraph
file mode, defaults, one process; \`bench/lib/hive-gateway.config.ts\`); plus **ours, no dedupe**
(\`SUBGRAPH_DEDUPE_QUERIES=0\`). Every router process gets the same \`NODE_OPTIONS\`
(\`${fmt(router.router_node_options)}\`); the subgraphs run with Node's defaults.

Read this with the workload in mind: all ${fmt(router.connections)} connections send the *same*
query for the *same* caller. Ours and Hive Gateway share identical in-flight subgraph queries by
default (Apollo Router does too; stock \`@apollo/gateway\` does not), so on this workload most
client requests cost the subgraphs nothing; "ours, no dedupe" shows ours without that feature,
which is the like-for-like comparison with stock \`@apollo/gateway\`. Many distinct callers or
variables would shrink the dedupe gain toward the no-dedupe row.

Identity: the caller's reservations are customer-only, so subgraphs need GDmarket's internal
secret and caller headers. Ours verifies the bearer token and derives them per request (and pays
for it); the peers send the identical \`x-gdmarket-*\` headers statically. Every router must answer
with byte-identical data before it is loaded. Load: autocannon, ${fmt(router.connections)}
connections, ${fmt(router.duration_s)} s after a warm-up; latency from every response; errors =
connection errors/timeouts, non-2xx, and 200s whose body carries GraphQL \`errors\`. CPU: the router
process tree's utime+stime delta (/proc) over the run ÷ requests; \`cpu_cores\` = cores it used.

${routerTable}

Ratios: ${leaves('', router.ratios)
    .map(([k, v]) => `${k} = ${v}`)
    .join(' · ')}

## Everything else in this run

${table(
  ['metric', 'value'],
  others
    .flatMap(([k, v]) => leaves(k, v))
    .filter(([k]) => !k.endsWith('rss_samples_mb'))
    .map(([k, v]) => [k, v]),
)}

Write path: renters run reserveItem → CONFIRMED (saga, by events) → payReservation → lendItem →
returnItem through our router in a loop, each on its own item; \`reserve_confirmed\` runs from
sending reserveItem to the first poll (every ${fmt(obj(results.write_path).poll_ms)} ms) that sees CONFIRMED.
Soak: ours under the throughput load; RSS sampled every 2 s; after a warm-up (the first fifth, at
least 20 s), growth = median of the last third of the samples against the median of the first
third (RSS saw-tooths with the GC).
`
}

export function writeReport(results: Json, benchDir: string): void {
  writeFileSync(path.join(benchDir, 'results', 'latest.svg'), chartSvg(results))
  writeFileSync(path.join(benchDir, 'README.md'), readme(results))
}
