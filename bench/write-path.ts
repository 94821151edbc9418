// Write path through our router: WORKERS renters each run the whole scenario in a loop for
// BENCH_WRITE_S seconds: reserveItem → (saga, by events) CONFIRMED → payReservation → lendItem →
// returnItem; a returned item is RENTABLE again, so each worker reuses its own item. Reports whole
// scenarios per second and the reserve → CONFIRMED latency (from sending reserveItem to the first
// poll that sees CONFIRMED; polled every POLL_MS through the router, so ±POLL_MS resolution).
import { performance } from 'node:perf_hooks'
import { gql, sleep } from '../test/harness.js'
import { percentile, round } from './lib/load.js'
import { must, pool, startMarket } from './lib/market.js'
import type { BenchPart } from './run.js'

const WORKERS = 16
const DURATION_S = Number(process.env.BENCH_WRITE_S ?? 20)
const POLL_MS = 10

/** Polls `fn` every POLL_MS until it returns a value; throws after `timeoutMs`. */
async function until<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await sleep(POLL_MS)
  }
}

export const writePathBench: BenchPart = {
  name: 'write',
  run: async () => {
    const market = await startMarket(['item', 'reservation', 'payment', 'projections', 'router'])
    try {
      const url = market.stack.url('router')
      const owner = await market.tokenFor('write-owner', ['owner'])
      const renters = await Promise.all(
        Array.from({ length: WORKERS }, (_, w) => market.tokenFor(`write-renter-${w}`, ['renter'])),
      )
      const items = await pool(
        renters,
        WORKERS,
        async (_r, w) =>
          (
            await must<{ registerItem: { id: string } }>(
              url,
              'mutation($n: String!) { registerItem(input: { name: $n, price: 100 }) { id } }',
              { n: `Write ${w}` },
              owner,
            )
          ).registerItem.id,
      )

      const confirmedMs: number[] = []
      let scenarios = 0
      let retries = 0
      const errors: string[] = []
      const stopAt = performance.now() + DURATION_S * 1000
      const started = performance.now()
      await pool(renters, WORKERS, async (renter, w) => {
        const itemId = items[w]
        while (performance.now() < stopAt && errors.length === 0) {
          try {
            const t0 = performance.now()
            const { reserveItem } = await must<{ reserveItem: { id: string } }>(
              url,
              'mutation($id: ID!) { reserveItem(itemId: $id) { id } }',
              { id: itemId },
              renter,
            )
            const id = reserveItem.id
            await until(async () => {
              const d = await must<{ reservation: { status: string } }>(
                url,
                'query($id: ID!) { reservation(id: $id) { status } }',
                { id },
                renter,
              )
              if (d.reservation.status === 'REJECTED' || d.reservation.status === 'CANCELLED')
                throw new Error(`reservation ${d.reservation.status}`)
              return d.reservation.status === 'CONFIRMED' ? true : undefined
            }, 'CONFIRMED')
            confirmedMs.push(performance.now() - t0)
            // Payment may answer "unavailable, try again later" past its deadline; lending waits
            // until the item subgraph has heard (by event) that the reservation is paid.
            await until(async () => {
              const r = await gql(url, 'mutation($id: ID!) { payReservation(id: $id) { id } }', { id }, renter)
              if (!r.errors?.length) return true
              if (r.errors[0].extensions?.code !== 'PAYMENT_UNAVAILABLE')
                throw new Error(`payReservation: ${r.errors[0].message}`)
              retries++
              return undefined
            }, 'paid')
            await until(async () => {
              const r = await gql(url, 'mutation($id: ID!) { lendItem(reservationId: $id) { id } }', { id }, owner)
              if (!r.errors?.length) return true
              if (!/not paid|does not hold/.test(r.errors[0].message))
                throw new Error(`lendItem: ${r.errors[0].message}`)
              retries++
              return undefined
            }, 'lent')
            await must(url, 'mutation($id: ID!) { returnItem(itemId: $id) { id } }', { id: itemId }, owner)
            scenarios++
          } catch (e) {
            errors.push(e instanceof Error ? e.message : String(e))
          }
        }
      })
      const elapsedS = (performance.now() - started) / 1000
      if (errors.length) throw new Error(`write path failed: ${errors[0]}`)
      confirmedMs.sort((a, b) => a - b)
      return {
        scenarios_per_s: round(scenarios / elapsedS),
        write_path: { workers: WORKERS, duration_s: round(elapsedS, 1), scenarios, retries, poll_ms: POLL_MS },
        reserve_confirmed: { p50_ms: round(percentile(confirmedMs, 50)), p99_ms: round(percentile(confirmedMs, 99)) },
      }
    } finally {
      await market.stack.dispose()
    }
  },
}
