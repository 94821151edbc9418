// Near-me search at scale: BENCH_NEAR_ITEMS (1,000,000) items seeded in bulk with COPY straight
// into the item database (not through the API: the point is the query, not the write path),
// uniform over a disc of BENCH_NEAR_SPREAD_KM (20) around Seoul City Hall, 80 % RENTABLE. Then, in
// the same run on the same rows, the same question asked two ways:
// - through our router: `itemsNear(near, radiusKm: 2, first: 50)` (PostGIS, GiST, spheroid), one
//   request at a time, BENCH_NEAR_QUERIES (2000) random points within 10 km of the centre;
// - the item store's own statement called in-process (PostGIS alone: no router, no subgraph HTTP);
// - a full-scan haversine in plain SQL on lat/lng, sent straight to PostgreSQL (no router, no
//   subgraph: its best case), BENCH_NEAR_SCANS (30) of the same points.
// The ratio of the medians is the figure; the goal is p99 <= 20 ms through the router.
import { randomUUID } from 'node:crypto'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { createItemDb, itemsNear } from '../subgraphs/item/src/store.js'
import { percentile, round } from './lib/load.js'
import { must, startMarket } from './lib/market.js'
import type { BenchPart } from './run.js'

const ITEMS = Number(process.env.BENCH_NEAR_ITEMS ?? 1_000_000)
const SPREAD_KM = Number(process.env.BENCH_NEAR_SPREAD_KM ?? 20)
const QUERIES = Number(process.env.BENCH_NEAR_QUERIES ?? 2000)
const SCANS = Number(process.env.BENCH_NEAR_SCANS ?? 30)
const RADIUS_KM = 2
const FIRST = 50
const CENTRE = { lat: 37.5665, lng: 126.978 }
// Degrees per km at Seoul's latitude, close enough to place seed points.
const KM_LAT = 1 / 111.0
const KM_LNG = 1 / 88.2

/** A point uniform over the disc of `km` around the centre. */
function around(km: number): Point {
  const d = km * Math.sqrt(Math.random())
  const a = Math.random() * 2 * Math.PI
  return { lat: CENTRE.lat + d * KM_LAT * Math.cos(a), lng: CENTRE.lng + d * KM_LNG * Math.sin(a) }
}

async function seed(databaseUrl: string): Promise<number> {
  const client = new pg.Client(databaseUrl)
  await client.connect()
  try {
    const t0 = performance.now()
    const now = new Date().toISOString()
    function* rows(): Generator<string> {
      for (let k = 0; k < ITEMS; k++) {
        const p = around(SPREAD_KM)
        const status = k % 5 === 0 ? 'NOT_RENTABLE' : 'RENTABLE'
        yield `${randomUUID()}\tThing ${k}\t${100 + (k % 900)}\towner-${k % 10_000}\t${status}\t${now}\t${p.lat}\t${p.lng}\tarea ${k % 25}\n`
      }
    }
    const copy = client.query(
      copyFrom(
        'COPY "Item" ("id", "name", "price", "ownerId", "status", "updatedAt", "lat", "lng", "area") FROM STDIN',
      ),
    )
    await pipeline(Readable.from(rows()), copy)
    // Fresh statistics and visibility map, as autovacuum would have them on a settled table.
    await client.query('VACUUM ANALYZE "Item"')
    return performance.now() - t0
  } finally {
    await client.end()
  }
}

// Same filters and answer as itemsNear, on a sphere of the mean radius, over every row.
const HAVERSINE = `
  SELECT id, d FROM (
    SELECT "id", 2 * 6371.0088 * asin(sqrt(
      power(sin(radians("lat" - $1) / 2), 2) +
      cos(radians($1)) * cos(radians("lat")) * power(sin(radians("lng" - $2) / 2), 2))) AS d
    FROM "Item" WHERE "deletedAt" IS NULL AND "status" = 'RENTABLE' AND "lat" IS NOT NULL
  ) s WHERE d <= $3 ORDER BY d LIMIT $4`

const NEAR = `query($near: GeoPointInput!) { itemsNear(near: $near, radiusKm: ${RADIUS_KM}, first: ${FIRST}) {
  distanceKm item { id name price } } }`

const stats = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b)
  return {
    n: s.length,
    p50_ms: round(percentile(s, 50)),
    p99_ms: round(percentile(s, 99)),
    max_ms: round(s[s.length - 1]),
  }
}

type Point = { lat: number; lng: number }

/** How long each call took, in ms, one after another. */
async function timeEach<T>(xs: T[], fn: (x: T) => Promise<unknown>): Promise<number[]> {
  const ms: number[] = []
  for (const x of xs) {
    const t0 = performance.now()
    await fn(x)
    ms.push(performance.now() - t0)
  }
  return ms
}

export const nearBench: BenchPart = {
  name: 'near',
  onlyWhenNamed: true,
  run: async () => {
    const market = await startMarket(['item', 'router'])
    try {
      const databaseUrl = market.stack.databaseUrl('item')
      console.error(`bench: near: seeding ${ITEMS} items by COPY…`)
      const seedMs = await seed(databaseUrl)
      console.error(`bench: near: seeded in ${Math.round(seedMs / 1000)} s`)
      const points = Array.from({ length: QUERIES }, () => around(10))
      const viaRouter = await throughRouter(market.stack.url('router'), points)
      const store = stats(await storeAlone(databaseUrl, points))
      const haversine = stats(await fullScan(databaseUrl, points.slice(0, SCANS)))
      const router = stats(viaRouter.ms)
      return {
        near: {
          items: ITEMS,
          spread_km: SPREAD_KM,
          radius_km: RADIUS_KM,
          first: FIRST,
          seed_s: round(seedMs / 1000, 1),
          mean_results: round(viaRouter.found / QUERIES, 1),
          router_itemsNear: router,
          store_itemsNear_sql: store,
          haversine_full_scan_sql: haversine,
          ratio_p50: round(haversine.p50_ms / router.p50_ms, 1),
          ratio_p99: round(haversine.p99_ms / router.p99_ms, 1),
          ratio_sql_p50: round(haversine.p50_ms / store.p50_ms, 1),
          goal_p99_ms: 20,
          goal_met: router.p99_ms <= 20,
          load_average_1m: round(viaRouter.loadAverage),
        },
      }
    } finally {
      await market.stack.dispose()
    }
  },
}

async function throughRouter(url: string, points: Point[]) {
  // Warm-up: connections, plans and the index's pages, as a running service has them.
  for (const near of points.slice(0, 200)) await must(url, NEAR, { near }, '')
  // Other work on the machine makes every number noisier: record how busy it was.
  const loadAverage = os.loadavg()[0]
  let found = 0
  const ms = await timeEach(points, async near => {
    found += (await must<{ itemsNear: unknown[] }>(url, NEAR, { near }, '')).itemsNear.length
  })
  return { ms, found, loadAverage }
}

/** The same statement without the router and the subgraph around it. */
async function storeAlone(databaseUrl: string, points: Point[]): Promise<number[]> {
  const db = createItemDb(databaseUrl, 2)
  const near = (p: Point) => itemsNear(db, { near: p, radiusKm: RADIUS_KM, status: 'RENTABLE', first: FIRST })
  try {
    for (const p of points.slice(0, 200)) await near(p)
    return await timeEach(points, near)
  } finally {
    await db.$disconnect()
  }
}

async function fullScan(databaseUrl: string, points: Point[]): Promise<number[]> {
  const client = new pg.Client(databaseUrl)
  await client.connect()
  try {
    await client.query(HAVERSINE, [CENTRE.lat, CENTRE.lng, RADIUS_KM, FIRST]) // warm-up
    return await timeEach(points, p => client.query(HAVERSINE, [p.lat, p.lng, RADIUS_KM, FIRST]))
  } finally {
    await client.end()
  }
}
