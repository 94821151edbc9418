// Pruning what only needs keeping for a while: published outbox rows, the ids of processed events,
// and (for a service that keeps them) idempotency records. Each window must be longer than the
// stream's duplicate window: within it JetStream drops a re-published event by its id, past it the
// ProcessedEvent row is what keeps a redelivered event from applying twice.
import type { Logger } from './logger.js'

/** One kind of row to prune: deletes those older than `before`; returns how many. */
export interface Pruner {
  name: string
  /** How long its rows are kept. */
  keepMs: number
  prune(before: Date): Promise<number>
}

/** The tables every service with an outbox or consumers has, pruned by their time columns. */
export interface PrunableTables {
  outboxEvent?: { deleteMany(args: { where: { publishedAt: { lt: Date } } }): Promise<{ count: number }> }
  processedEvent?: { deleteMany(args: { where: { processedAt: { lt: Date } } }): Promise<{ count: number }> }
}

export function standardPruners(db: PrunableTables, windows: { outboxMs: number; processedMs: number }): Pruner[] {
  const out: Pruner[] = []
  const { outboxEvent, processedEvent } = db
  if (outboxEvent)
    out.push({
      name: 'published outbox rows',
      keepMs: windows.outboxMs,
      prune: async before => (await outboxEvent.deleteMany({ where: { publishedAt: { lt: before } } })).count,
    })
  if (processedEvent)
    out.push({
      name: 'processed event ids',
      keepMs: windows.processedMs,
      prune: async before => (await processedEvent.deleteMany({ where: { processedAt: { lt: before } } })).count,
    })
  return out
}

export class Retention {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined

  constructor(
    private readonly pruners: Pruner[],
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (!this.pruners.length) return
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs)
    this.timer.unref()
    void this.runOnce()
  }

  /** One round of every pruner; a failure (the database down) is logged and tried again next round. */
  runOnce(now = Date.now()): Promise<void> {
    this.running ??= (async () => {
      for (const p of this.pruners) {
        try {
          const count = await p.prune(new Date(now - p.keepMs))
          if (count) this.logger.info({ pruned: count, what: p.name, keptMs: p.keepMs }, 'retention: pruned')
        } catch (err) {
          this.logger.warn({ err, what: p.name }, 'retention: prune failed; trying again next round')
        }
      }
    })().finally(() => (this.running = undefined))
    return this.running
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.running
  }
}
