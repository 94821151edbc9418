// /health/live and /health/ready. Ready: started, not shutting down, every dependency check passes.
// Live: the event loop has not been blocked beyond a threshold within the last blocked-window, and
// no liveness check reports a stall.
import type { Logger } from './logger.js'

export type Check = () => Promise<void> | void
/** Returns a reason while the process is wedged, null while it is fine. */
export type LivenessCheck = () => string | null

export interface HealthReport {
  ok: boolean
  checks: Record<string, string>
}

const LAG_SAMPLE_MS = 250
/**
 * How long /health/live keeps answering 503 after the event loop was blocked beyond the threshold.
 * The lag is only measured when the loop runs again, and a probe comes every few seconds, so a
 * 503 that lasted one sample (250 ms) would almost always be missed. One probe period (the
 * manifests' livenessProbe.periodSeconds: 10) means: a single block costs at most one or two
 * failed probes (below failureThreshold 3, no restart); blocks that keep recurring keep it failing
 * and the kubelet restarts the container. A loop that never comes back cannot answer at all, which
 * the kubelet counts as a failure too.
 */
export const DEFAULT_LIVENESS_BLOCKED_WINDOW_MS = 10_000

export class Health {
  private started = false
  private stopping = false
  private readonly readinessChecks = new Map<string, Check>()
  private readonly livenessChecks = new Map<string, LivenessCheck>()
  private lagMs = 0
  /** The last block beyond the threshold: when it was measured and how long it was. */
  private lastBlock: { at: number; ms: number } | undefined
  private lagTimer: NodeJS.Timeout | undefined
  /** Blocks that began before this instant are forgotten (see forgetBlocks). */
  private forgetBefore = 0

  constructor(
    private readonly maxEventLoopDelayMs: number,
    private readonly checkTimeoutMs = 2000,
    private readonly logger?: Logger,
    private readonly blockedWindowMs = DEFAULT_LIVENESS_BLOCKED_WINDOW_MS,
  ) {}

  addReadinessCheck(name: string, check: Check): void {
    this.readinessChecks.set(name, check)
  }

  addLivenessCheck(name: string, check: LivenessCheck): void {
    this.livenessChecks.set(name, check)
  }

  markStarted(): void {
    this.started = true
    let expected = Date.now() + LAG_SAMPLE_MS
    // A timer that fires late measures how long the loop was blocked.
    this.lagTimer = setInterval(() => {
      const now = Date.now()
      const blockBegan = expected
      this.lagMs = Math.max(0, now - expected)
      expected = now + LAG_SAMPLE_MS
      if (this.lagMs > this.maxEventLoopDelayMs && blockBegan >= this.forgetBefore) {
        this.lastBlock = { at: now, ms: this.lagMs }
        this.logger?.error({ lagMs: this.lagMs }, 'event loop was blocked')
      }
    }, LAG_SAMPLE_MS)
    this.lagTimer.unref()
  }

  /**
   * Forgets blocks measured so far and one that began before now but is only measured by a later
   * sample (a block is measured once the loop runs again): the start-up's one-off work (the
   * migration engine) is not a wedge. A block that begins after this call still counts.
   */
  forgetBlocks(): void {
    this.lastBlock = undefined
    this.forgetBefore = Date.now()
  }

  markStopping(): void {
    this.stopping = true
  }

  get isStopping(): boolean {
    return this.stopping
  }

  dispose(): void {
    clearInterval(this.lagTimer)
  }

  live(): HealthReport {
    const checks: Record<string, string> = {}
    let ok = true
    const sinceBlock = this.lastBlock ? Date.now() - this.lastBlock.at : Infinity
    if (this.lastBlock && sinceBlock < this.blockedWindowMs) {
      ok = false
      checks.eventLoop = `blocked for ${this.lastBlock.ms} ms, ${sinceBlock} ms ago`
    } else checks.eventLoop = 'ok'
    for (const [name, check] of this.livenessChecks) {
      const problem = check()
      checks[name] = problem ?? 'ok'
      if (problem) ok = false
    }
    return { ok, checks }
  }

  async ready(): Promise<HealthReport> {
    if (!this.started) return { ok: false, checks: { process: 'starting' } }
    if (this.stopping) return { ok: false, checks: { process: 'shutting down' } }
    const checks: Record<string, string> = {}
    let ok = true
    await Promise.all(
      [...this.readinessChecks].map(async ([name, check]) => {
        try {
          await withTimeout(Promise.resolve(check()), this.checkTimeoutMs)
          checks[name] = 'ok'
        } catch (e) {
          ok = false
          checks[name] = e instanceof Error ? e.message : String(e)
        }
      }),
    )
    return { ok, checks }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}
