// npm run fuzz [-- --runs N --seed S]: the full fuzz run (default 10,000 requests, a random seed,
// printed so a failure can be replayed with --seed). Exits 1 on any violation.
import { parseArgs } from 'node:util'
import { describeReport, runFuzz } from './fuzz.js'

const { values } = parseArgs({
  options: { runs: { type: 'string', default: process.env.FUZZ_RUNS ?? '10000' }, seed: { type: 'string' } },
})
const runs = Number(values.runs)
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31)
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(seed)) {
  console.error('usage: npm run fuzz -- [--runs N] [--seed S]')
  process.exit(2)
}
console.log(`fuzz: ${runs} requests, seed ${seed}`)
const report = await runFuzz({ runs, seed, log: line => console.log(line) })
console.log(describeReport(report))
process.exit(report.violations.length ? 1 : 0)
