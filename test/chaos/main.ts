// `npm run chaos [-- options]`: one chaos run, its checker table and latencies; exits 1 unless
// every row is 0. Options (docs/chaos.md): --short, --duration <s>, --seed <n>, --replicas <n>,
// --cluster, --faults kill,nats,db,latency (or none), --outage <s>, --outage-service item|reservation|projections,
// --renters <n>, --owners <n>, --idempotency-keys.
import { parseArgs } from 'node:util'
import { FAULTS, FULL, SHORT, printReport, runChaos, type ChaosOptions, type Fault } from './run.js'

const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    duration: { type: 'string' },
    seed: { type: 'string' },
    replicas: { type: 'string' },
    cluster: { type: 'boolean', default: false },
    faults: { type: 'string' },
    outage: { type: 'string' },
    'outage-service': { type: 'string' },
    renters: { type: 'string' },
    owners: { type: 'string' },
    'idempotency-keys': { type: 'boolean', default: false },
  },
})

function int(name: string, raw: string | undefined, fallback: number, min = 0): number {
  if (raw === undefined) return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer ≥ ${min}, got "${raw}"`)
    process.exit(2)
  }
  return n
}

const base = values.short ? SHORT : FULL
const faults =
  values.faults === undefined ? base.faults : values.faults === 'none' ? [] : (values.faults.split(',') as Fault[])
const unknown = faults.filter(f => !FAULTS.includes(f))
if (unknown.length) {
  console.error(`unknown faults: ${unknown.join(', ')} (known: ${FAULTS.join(', ')}, or none)`)
  process.exit(2)
}
const outageService = (values['outage-service'] ?? base.outageService) as ChaosOptions['outageService']
if (!['item', 'reservation', 'projections'].includes(outageService)) {
  console.error('--outage-service must be item, reservation or projections')
  process.exit(2)
}
const options: ChaosOptions = {
  ...base,
  durationMs: int('duration', values.duration, base.durationMs / 1000, 1) * 1000,
  seed: int('seed', values.seed, base.seed),
  replicas: int('replicas', values.replicas, base.replicas, 1),
  cluster: values.cluster || base.cluster,
  faults,
  outageService,
  outageMs: int('outage', values.outage, base.outageMs / 1000) * 1000,
  renters: int('renters', values.renters, base.renters, 1),
  owners: int('owners', values.owners, base.owners, 1),
  idempotencyKeys: values['idempotency-keys'] || base.idempotencyKeys,
  log: line => console.log(line),
}

const report = await runChaos(options)
printReport(report, console.log)
process.exit(report.result.ok ? 0 : 1)
