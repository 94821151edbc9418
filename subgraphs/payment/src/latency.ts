// Test-only latency: the payment subgraph answers slowly, drawn around the caller's timeout, so a
// fault-injection run sees charges committed whose answer the reservation subgraph never gets
// (delay after the commit) as well as calls that time out before anything is charged (before).
// Honoured only with NODE_ENV=test; any other mode refuses the setting at start.
import type { ConfigReader, RuntimeMode } from '@gdmarket/platform/config'

export interface LatencyRange {
  minMs: number
  maxMs: number
}

/** Where one call waits: before the commit, after it (the answer is late), or neither. */
export interface Lag {
  beforeMs: number
  afterMs: number
}

/** `PAYMENT_TEST_LATENCY_MS=min-max` (e.g. `300-900`): each approve or refund waits a uniform draw. */
export function readTestLatency(r: ConfigReader, mode: RuntimeMode): LatencyRange | null {
  const raw = r.string('PAYMENT_TEST_LATENCY_MS', '')
  if (!raw) return null
  const m = /^(\d+)-(\d+)$/.exec(raw)
  const range = m ? { minMs: Number(m[1]), maxMs: Number(m[2]) } : null
  if (!range || range.minMs > range.maxMs || range.maxMs > 120_000)
    r.problem(`PAYMENT_TEST_LATENCY_MS must be "min-max" milliseconds (max ≤ 120000), got "${raw}"`)
  if (mode !== 'test') r.problem('PAYMENT_TEST_LATENCY_MS is allowed only with NODE_ENV=test')
  return mode === 'test' ? range : null
}

/** One call's lag: a uniform draw in the range, before or after the commit with equal chance. */
export function drawLag(range: LatencyRange | null, random: () => number = Math.random): Lag {
  if (!range) return { beforeMs: 0, afterMs: 0 }
  const ms = Math.round(range.minMs + random() * (range.maxMs - range.minMs))
  return random() < 0.5 ? { beforeMs: ms, afterMs: 0 } : { beforeMs: 0, afterMs: ms }
}
