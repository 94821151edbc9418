// `npm run bench`: runs each part of the suite in turn, prints a table and writes
// bench/results/<date>.json and bench/results/latest.json. A part is a name and a function that
// returns its JSON fragment; add one by appending to PARTS. A part marked onlyWhenNamed (near:
// a million rows seeded) runs only when named: `npm run bench -- near`.
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { writeReport } from './lib/report.js'
import { routerThroughputBench } from './router-throughput.js'
import { nearBench } from './near.js'
import { subscriptionsBench } from './subscriptions.js'
import { writePathBench } from './write-path.js'

export interface BenchPart {
  name: string
  run: () => Promise<Record<string, unknown>>
  /** Left out of a plain `npm run bench`. */
  onlyWhenNamed?: boolean
}

const PARTS: BenchPart[] = [routerThroughputBench, writePathBench, subscriptionsBench, nearBench]

/** Flattens a fragment into "a.b.c" → value rows for the table. */
function rows(prefix: string, value: unknown): [string, string][] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value))
    return Object.entries(value).flatMap(([k, v]) => rows(prefix ? `${prefix}.${k}` : k, v))
  return [[prefix, typeof value === 'number' ? String(Math.round(value * 100) / 100) : JSON.stringify(value)]]
}

async function main(): Promise<void> {
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    host: { cpus: os.cpus().length, node: process.version },
  }
  for (const part of chosenParts(process.argv.slice(2))) {
    const started = Date.now()
    console.error(`bench: ${part.name}…`)
    Object.assign(results, await part.run())
    console.error(`bench: ${part.name} done in ${Math.round((Date.now() - started) / 1000)} s`)
  }
  writeResults(results)
  const table = rows('', results)
  const width = Math.max(...table.map(([k]) => k.length))
  for (const [k, v] of table) console.log(`${k.padEnd(width)}  ${v}`)
}

/** The parts named on the command line, or every part not marked onlyWhenNamed. */
function chosenParts(argv: string[]): BenchPart[] {
  const only = argv.filter(a => !a.startsWith('--')) // flags (e.g. --full-soak) are read by the parts
  const unknown = only.filter(name => !PARTS.some(p => p.name === name))
  if (unknown.length)
    throw new Error(`no bench part ${unknown.join(', ')}; parts: ${PARTS.map(p => p.name).join(', ')}`)
  return PARTS.filter(p => (only.length === 0 ? !p.onlyWhenNamed : only.includes(p.name)))
}

function writeResults(results: Record<string, unknown>): void {
  const dir = path.join(import.meta.dirname, 'results')
  mkdirSync(dir, { recursive: true })
  const json = `${JSON.stringify(results, null, 2)}\n`
  writeFileSync(path.join(dir, `${String(results.date).slice(0, 19).replace(/:/g, '-')}.json`), json)
  writeFileSync(path.join(dir, 'latest.json'), json)
  // The README and chart describe the router comparison; a run without it leaves them as they are.
  if (results.router) writeReport(results, import.meta.dirname)
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)
