// Settles payment calls whose answer was lost (timeout, a crash between the intent and the answer,
// the circuit opening mid-call): every RECONCILE_INTERVAL_MS it takes the intents older than
// RECONCILE_AFTER_MS and asks payment, by reservation and attempt id, what it really did. A charge is
// closed (payment refuses the attempt from now on if it never ran, so a late arrival cannot charge
// behind our back) and the reservation follows payment's answer; a refund is made again (payment
// answers a repeated attempt with its first result) until it is done. Several replicas may run it:
// settling is guarded by the attempt id, so one of them settles and the others change nothing.
import { randomUUID } from 'node:crypto'
import { settle } from './payment-intents.js'
import type { ReservationDeps } from './reservations.js'
import { unsettledPayments, type Reservation } from './store.js'

export interface ReconcilerOptions {
  reconcileIntervalMs: number
  reconcileAfterMs: number
  reconcileBatch: number
}

export class PaymentReconciler {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private stopped = false

  constructor(
    private readonly deps: ReservationDeps,
    private readonly o: ReconcilerOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.kick(), this.o.reconcileIntervalMs)
    this.timer.unref()
  }

  private kick(): void {
    if (this.running || this.stopped) return
    this.running = this.round()
      .then(() => undefined)
      .catch(err => this.deps.logger.warn({ err }, 'payment reconciliation round failed; next round retries'))
      .finally(() => {
        this.running = undefined
      })
  }

  /** One pass over the lost answers; resolves with how many were settled (tests call it directly). */
  async round(): Promise<number> {
    const due = await unsettledPayments(
      this.deps.db,
      new Date(Date.now() - this.o.reconcileAfterMs),
      this.o.reconcileBatch,
    )
    let settled = 0
    for (const r of due) {
      if (this.stopped) break
      if (await this.reconcile(r).catch(err => this.failed(r, err))) settled++
    }
    return settled
  }

  private async reconcile(r: Reservation): Promise<boolean> {
    const attemptId = r.paymentAttemptId
    if (!attemptId) return false
    const correlationId = randomUUID()
    const attempt = { reservationId: r.id, attemptId }
    const payment =
      r.paymentIntent === 'CHARGE'
        ? await this.deps.payment.close(attempt, correlationId)
        : await this.deps.payment.refund(attempt, correlationId)
    const next = await settle(this.deps, { correlationId }, r, payment)
    if (next)
      this.deps.logger.info(
        { reservationId: r.id, intent: r.paymentIntent, paymentStatus: next.paymentStatus, status: next.status },
        'payment settled by the reconciler',
      )
    return next !== null
  }

  private failed(r: Reservation, err: unknown): false {
    this.deps.logger.warn({ err, reservationId: r.id, intent: r.paymentIntent }, 'payment not settled yet; retrying')
    return false
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    await this.running
  }
}
