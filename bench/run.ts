// `npm run bench`: runs each part of the suite in turn, prints a table and writes
// bench/results/<date>.json and bench/results/latest.json. A part is a name and a function that
// returns its JSON fragment; add one by appending to PARTS. A part marked onlyWhenNamed (near:
// a million rows seeded) runs only when named: `npm run bench -- near`.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
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
  const chosen = chosenParts(process.argv.slice(2))
  for (const part of chosen) {
    const started = Date.now()
    console.error(`bench: ${part.name}…`)
    Object.assign(results, await part.run())
    console.error(`bench: ${part.name} done in ${Math.round((Date.now() - started) / 1000)} s`)
  }
  writeResults(results, chosen)
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

function writeResults(results: Record<string, unknown>, chosen: BenchPart[]): void {
  const dir = path.join(import.meta.dirname, 'results')
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    path.join(dir, `${String(results.date).slice(0, 19).replace(/:/g, '-')}.json`),
    `${JSON.stringify(results, null, 2)}\n`,
  )
  // latest.json keeps every part's last numbers: a run of some parts replaces theirs, and `ran`
  // says when each part last ran, so the README and charts always describe every part.
  const latest = path.join(dir, 'latest.json')
  const previous = existsSync(latest) ? (JSON.parse(readFileSync(latest, 'utf8')) as Record<string, unknown>) : {}
  const ran = { ...(previous.ran as Record<string, string> | undefined) }
  for (const part of chosen) ran[part.name] = String(results.date)
  const merged: Record<string, unknown> = { ...previous, ...results, ran }
  writeFileSync(latest, `${JSON.stringify(merged, null, 2)}\n`)
  if (merged.router) writeReport(merged, import.meta.dirname)
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err)
    process.exit(1)
  },
)
