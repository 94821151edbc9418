// The short, seeded chaos run (docs/chaos.md): two instances of each replicated service, the
// rental load with its races, one kill of each service and of NATS, an 8 s database outage and
// payment latency; then every row of the consistency checker must be 0.
import { expect, it } from '@jest/globals'
import { formatTable } from './checker.js'
import { printReport, runChaos, SHORT } from './run.js'

it('keeps money and state consistent through the short chaos run', async () => {
  const lines: string[] = []
  const report = await runChaos({ ...SHORT, log: l => lines.push(l) })
  printReport(report, l => lines.push(l))
  if (!report.result.ok) console.log(lines.join('\n'))
  // The load must have done something for the table to mean anything (a loaded machine does little).
  expect(report.latency.decided).toBeGreaterThan(0)
  expect(report.load.outcomes.reserveItem?.ok ?? 0).toBeGreaterThan(0)
  expect(formatTable(report.result, { examples: false })).toContain('consistent: every row is 0')
}, 600_000)
