// The short, seeded fuzz run of npm test (npm run fuzz is the full one): the same generator and
// checks as the full run, fewer requests, a fixed seed so a failure replays exactly.
import { describe, expect, it } from '@jest/globals'
import { describeReport, runFuzz } from './fuzz.js'

const RUNS = Number(process.env.FUZZ_TEST_RUNS ?? 400)

describe('fuzz (short seeded run)', () => {
  it(`answers ${RUNS} generated requests within the contract`, async () => {
    const report = await runFuzz({ runs: RUNS, seed: 20261201 })
    const summary = describeReport(report)
    expect({ violations: report.violations, summary }).toEqual({ violations: [], summary })
    expect(report.runs).toBe(RUNS)
    // The run really exercised the refusals it is about.
    expect(report.byCode.QUERY_TOO_COMPLEX).toBeGreaterThan(0)
    expect(report.byCode.BAD_USER_INPUT).toBeGreaterThan(0)
    expect(report.byCode.UNAUTHENTICATED).toBeGreaterThan(0)
    expect(report.refusedMutationsChecked).toBeGreaterThan(0)
  }, 600_000)
})
