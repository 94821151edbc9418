// Turns a run's results into bench/README.md (method, machine, tables) and bench/results/latest.svg
// (RPS and CPU per request per router, side by side). Both are rewritten by every `npm run bench`.
import { writeFileSync } from 'node:fs'
import { LOOP_BEFORE } from '../write-path.js'
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

/** The write path against offered load: sustained throughput (left) and latency (right, log scale). */
export function writeChartSvg(results: Json): string {
  const load = obj(results.write_load)
  const steps = Object.values(load)
    .map(obj)
    .filter(s => Number.isFinite(num(s.offered_per_s)))
    .sort((a, b) => num(a.offered_per_s) - num(b.offered_per_s))
  const w = 470
  const h = 260
  const pad = { l: 50, r: 15, t: 30, b: 40 }
  const xs = steps.map(s => num(s.offered_per_s))
  const xMax = Math.max(...xs, 1)
  const x = (v: number) => pad.l + (v / xMax) * (w - pad.l - pad.r)
  const parts: string[] = []
  const line = (x0: number, pts: [number, number][], color: string, label: string, ly: number) => {
    const ok = pts.filter(([, y]) => Number.isFinite(y))
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${ok.map(([a, b]) => `${x0 + a},${b}`).join(' ')}"/>`,
    )
    for (const [a, b] of ok) parts.push(`<circle cx="${x0 + a}" cy="${b}" r="3" fill="${color}"/>`)
    parts.push(`<text x="${x0 + pad.l + 8}" y="${ly}" font-size="11" fill="${color}">${escapeXml(label)}</text>`)
  }
  const axes = (x0: number, title: string, ticks: [number, string][]) => {
    parts.push(`<text x="${x0 + pad.l}" y="18" font-size="13" font-weight="bold">${escapeXml(title)}</text>`)
    parts.push(
      `<line x1="${x0 + pad.l}" y1="${h - pad.b}" x2="${x0 + w - pad.r}" y2="${h - pad.b}" stroke="#999"/>`,
      `<line x1="${x0 + pad.l}" y1="${pad.t}" x2="${x0 + pad.l}" y2="${h - pad.b}" stroke="#999"/>`,
    )
    for (const v of xs)
      parts.push(`<text x="${x0 + x(v)}" y="${h - pad.b + 14}" font-size="10" text-anchor="middle">${v}</text>`)
    parts.push(`<text x="${x0 + w / 2}" y="${h - 8}" font-size="10" text-anchor="middle">offered reservations/s</text>`)
    for (const [y, label] of ticks)
      parts.push(
        `<text x="${x0 + pad.l - 4}" y="${y + 3}" font-size="10" text-anchor="end">${label}</text>`,
        `<line x1="${x0 + pad.l}" y1="${y}" x2="${x0 + w - pad.r}" y2="${y}" stroke="#eee"/>`,
      )
  }
  // Throughput: linear, the diagonal is "kept up".
  const tMax = xMax * 1.1
  const ty = (v: number) => h - pad.b - (v / tMax) * (h - pad.t - pad.b)
  axes(
    0,
    'Sustained reservations/s (higher is better)',
    [0, 0.25, 0.5, 0.75, 1].map(f => [ty(f * tMax), String(Math.round(f * tMax))]),
  )
  line(
    0,
    xs.map(v => [x(v), ty(v)]),
    '#bbb',
    'offered',
    pad.t + 12,
  )
  line(
    0,
    steps.map(s => [x(num(s.offered_per_s)), ty(num(s.sustained_per_s))]),
    '#2b8a3e',
    'reaching the subscriber',
    pad.t + 26,
  )
  // Latency: log scale from 1 ms to 100 s.
  const x1 = w + 30
  const ly = (ms: number) => h - pad.b - ((Math.log10(Math.max(ms, 1)) - 0) / 5) * (h - pad.t - pad.b)
  axes(
    x1,
    'Latency ms, log scale (lower is better)',
    [1, 10, 100, 1000, 10000, 100000].map(v => [ly(v), String(v)]),
  )
  const series: [string, string, string][] = [
    ['answered_to_event', 'p50_ms', '#1c7ed6'],
    ['answered_to_event', 'p99_ms', '#74c0fc'],
    ['reserve_confirmed', 'p50_ms', '#e8590c'],
    ['reserve_confirmed', 'p99_ms', '#ffa94d'],
  ]
  series.forEach(([k, p, color], i) => {
    line(
      x1,
      steps.map(s => [x(num(s.offered_per_s)), ly(num(obj(s[k])[p]))]),
      color,
      `${k === 'answered_to_event' ? 'answered → subscriber' : 'reserve → CONFIRMED'} ${p.replace('_ms', '')}`,
      pad.t + 12 + 14 * i,
    )
  })
  const caption = `GDmarket write path, ${String(results.date ?? '')}, ${os.cpus().length} cores, Node ${process.version}`
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * w + 40}" height="${h + 20}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${parts.join('\n')}
<text x="20" y="${h + 14}" font-size="11" fill="#555">${escapeXml(caption)}</text>
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

const WRITE_COLS = [
  ['offered_per_s', 'offered/s'],
  ['sustained_per_s', 'sustained/s'],
  ['answered_to_event.p50_ms', 'answered → subscriber p50 ms'],
  ['answered_to_event.p99_ms', 'p99 ms'],
  ['reserve_confirmed.p50_ms', 'reserve → CONFIRMED p50 ms'],
  ['reserve_confirmed.p99_ms', 'p99 ms'],
  ['reserve_answered.p50_ms', 'reserveItem answered p50 ms'],
  ['cpu_ms_per_reservation', 'CPU ms / reservation'],
  ['cpu_cores', 'cores used'],
  ['delivered', 'delivered'],
  ['loadavg_1m', 'load avg'],
] as const

const at = (o: Json, key: string): unknown => key.split('.').reduce<unknown>((v, k) => obj(v)[k], o)

function writeSection(results: Json): string {
  const steps = Object.values(obj(results.write_load)).map(obj)
  if (!steps.length) return 'No write-path run yet.'
  const wp = obj(results.write_path)
  const idle = obj(results.write_idle)
  const rc = obj(results.reserve_confirmed)
  const byProcess = (s: Json) =>
    Object.entries(obj(s.cpu_ms_by_process))
      .map(([k, v]) => `${k} ${fmt(v)}`)
      .join(', ')
  const at200 = steps.find(s => s.offered_per_s === 200)
  const goals = Object.entries(obj(results.write_goals)).map(([name, g]) => {
    const { goal, measured, met } = obj(g)
    return [name.replaceAll('_', ' '), String(goal), fmt(measured), met ? 'met' : 'not met']
  })
  return `Last run ${fmt(obj(results.ran).write ?? results.date)}. \`reserveItem\` sent open-loop (on schedule, whatever
the answers) at each offered rate (${steps.map(s => `${fmt(s.offered_per_s)}/s for ${fmt(s.send_s)} s`).join(', ')}), one fresh item per reservation;
"sustained" counts reservations that reached a graphql-ws subscriber through the router (its ItemInfo
event naming the reservation) over the time until the last one did; "reserve → CONFIRMED" ends when
the ReservationConfirmed event is on the bus. CPU: every GDmarket process, the PostgreSQL backends of
its databases with PostgreSQL's shared writers, and nats-server (/proc), over the step and its drain,
per delivered reservation.

![Write path against offered load](results/write.svg)

${table(
  WRITE_COLS.map(([, label]) => label),
  steps.map(s => WRITE_COLS.map(([k]) => fmt(at(s, k)))),
)}

CPU ms per reservation by process at 200/s: ${at200 ? byProcess(at200) : '–'}.

The goals, as this run measured them (\`write_goals\`; the looping renters against the run before this
work, ${LOOP_BEFORE.scenarios_per_s} scenarios/s, ${LOOP_BEFORE.measured}):

${table(['goal', 'target', 'measured', ''], goals)}

Idle, one at a time (${fmt(idle.reservations)} reservations, load average ${fmt(idle.loadavg_1m)}): reserve →
CONFIRMED p50 ${fmt(idle.reserve_confirmed_p50_ms)} ms (p99 ${fmt(idle.reserve_confirmed_p99_ms)}), reserveItem
answered p50 ${fmt(idle.reserve_answered_p50_ms)} ms, answered → subscriber p50 ${fmt(idle.answered_to_event_p50_ms)} ms.

${fmt(wp.workers)} renters looping full rentals (reserveItem → CONFIRMED → payReservation → lendItem →
returnItem, each on its own item, CONFIRMED polled every ${fmt(wp.poll_ms)} ms through the router):
${fmt(results.scenarios_per_s)} scenarios/s, reserve → CONFIRMED p50 ${fmt(rc.p50_ms)} ms / p99 ${fmt(rc.p99_ms)} ms,
${fmt(wp.cpu_ms_per_scenario)} CPU ms per scenario; retries ${fmt(wp.retries)}, of which
${fmt(wp.event_lag_retries)} were CONFLICTs of an event not yet arrived (${leaves('', wp.retries_by_reason)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}).`
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
  const handled = new Set(['date', 'host', 'router', 'ran', 'write_load'])
  const others = Object.entries(results).filter(([k]) => !handled.has(k))
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
  return `# Benchmarks

\`npm run bench\` runs every part below against real processes on loopback (own PostgreSQL
databases, SQLite file and JetStream stream per part; nothing shared with \`npm start\`), writes
\`bench/results/<date>.json\` and \`bench/results/latest.json\`, prints a table, and rewrites this
file and the chart. Parts: \`npm run bench -- router write subscriptions\` runs only those named.
\`--full-soak\` makes the router soak 5 minutes (default \`BENCH_SOAK_S=60\`); \`BENCH_DURATION_S\`
(20), \`BENCH_WARMUP_S\` (5), \`BENCH_WRITE_S\` (20) and \`BENCH_WRITE_GOAL_S\` (60: the write path's 200/s
step, the rate its goal is set at) set the other windows. To measure one change
at one load: \`BENCH_WRITE_PARTS\` (\`loop,idle,load\`) picks the write path's parts and
\`BENCH_WRITE_RATES\` (\`50,100,200,400\`) its offered rates.

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

## Write path

${writeSection(results)}

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
  if (results.write_load) writeFileSync(path.join(benchDir, 'results', 'write.svg'), writeChartSvg(results))
  writeFileSync(path.join(benchDir, 'results', 'latest.svg'), chartSvg(results))
  writeFileSync(path.join(benchDir, 'README.md'), readme(results))
}
