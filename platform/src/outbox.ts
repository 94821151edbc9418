// Transactional outbox. A use case writes its state and an OutboxEvent row in one transaction;
// the relay publishes rows to JetStream after commit (kicked at once, and on a poll for what a
// crash or a NATS outage left behind), with the event id as Nats-Msg-Id so a re-publish is dropped.
import type { EventBus } from './bus.js'
import { createEvent, eventSubject, type EventCatalogue, type EventEnvelope, type NewEvent } from './events.js'
import type { Logger } from './logger.js'
import { statementSink, type StatementSink } from './outbox-statement.js'
import type { Statements } from './statements.js'
import { sqltag as sql } from '@prisma/client/runtime/client'

/** Tells the relay there is something to publish: the rows just committed, or none to make it look. */
export type Kick = (rows?: OutboxRow[]) => void

export interface OutboxRow {
  id: string
  subject: string
  envelope: unknown
}

/** A row JetStream stored, with the stream sequence it got (the original one for a dropped re-publish). */
export interface PublishedRow {
  row: OutboxRow
  seq: number
}

/** The two things the relay needs from a service's outbox table. */
export interface OutboxStore {
  /**
   * Unpublished rows written before `before`, oldest first, but those in `held` (the relay has them
   * in hand already). Younger rows are their writer's to publish: it kicks the relay with them.
   */
  pending(limit: number, held: string[], before: Date): Promise<OutboxRow[]>
  /** `published` says where each row landed, for a store that records it (the ItemInfo change feed). */
  markPublished(ids: string[], published: PublishedRow[]): Promise<void>
}

/** The row to insert for an event (SQLite keeps the envelope as text, PostgreSQL as jsonb). */
export function outboxRow<E extends EventEnvelope>(
  stream: string,
  context: string,
  event: E,
): { id: string; subject: string; envelope: E } {
  return { id: event.id, subject: eventSubject(stream, context, event.type), envelope: event }
}

export interface RelayOptions {
  store: OutboxStore
  bus: EventBus
  logger: Logger
  /** How often to look for rows nobody kicked the relay for. */
  pollIntervalMs: number
  /** Rows published per round. */
  batchSize: number
  /**
   * Rows published right after their commit are marked together, at most this long after: one
   * UPDATE for every row published meanwhile. The poll leaves them alone until then.
   */
  markDelayMs: number
}

export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private again = false
  private stopped = false
  private readonly inFlight = new Set<Promise<void>>()
  /** Rows kicked and not yet marked (being published, or published and waiting for their mark): the poll skips them. */
  private readonly inHand = new Set<string>()
  private toMark: PublishedRow[] = []
  private markTimer: NodeJS.Timeout | undefined

  constructor(private readonly o: RelayOptions) {}

  start(): void {
    this.timer = setInterval(() => this.kick(), this.o.pollIntervalMs)
    this.timer.unref()
    this.o.bus.onConnect(() => this.kick())
    this.kick()
  }

  /**
   * Called after every commit that wrote outbox rows, with those rows: they are published at once,
   * in commit order, without reading them back. Without rows (the poll, a reconnect): publish
   * whatever is still unpublished. A row published twice (the poll racing a fresh commit) is
   * dropped by JetStream by its message id.
   */
  kick(rows?: OutboxRow[]): void {
    if (this.stopped) return
    if (rows?.length && this.o.bus.publishing()) {
      this.track(this.publishNow(rows))
      return
    }
    if (this.running) {
      this.again = true
      return
    }
    this.running = this.drain()
      .catch(err => this.o.logger.warn({ err }, 'outbox publish failed; rows stay for the next round'))
      .finally(() => {
        this.running = undefined
        if (this.again) {
          this.again = false
          this.kick()
        }
      })
  }

  /** Resolves when nothing is being published or marked (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running || this.inFlight.size) await Promise.all([this.running, ...this.inFlight])
    await this.flushMarks()
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p)
    void p.finally(() => this.inFlight.delete(p))
  }

  private async publishNow(rows: OutboxRow[]): Promise<void> {
    for (const r of rows) this.inHand.add(r.id)
    try {
      await this.publish(rows, published => this.markSoon(published))
    } catch (err) {
      this.o.logger.warn({ err }, 'outbox publish failed; the poll publishes the rows later')
    } finally {
      // Those not published are the poll's again; the published ones once marked (flushMarks).
      const marking = new Set(this.toMark.map(p => p.row.id))
      for (const r of rows) if (!marking.has(r.id)) this.inHand.delete(r.id)
    }
  }

  /** Publishes rows in order (one connection keeps it; pipelined: one round trip per batch), then marks them. */
  private async publish(rows: OutboxRow[], mark: (published: PublishedRow[]) => Promise<void> | void): Promise<void> {
    const publisher = this.o.bus.publishing()
    if (!publisher) throw new Error('not connected to NATS')
    const results = await Promise.allSettled(
      rows.map(r =>
        publisher.publish(r.subject, typeof r.envelope === 'string' ? r.envelope : JSON.stringify(r.envelope), r.id),
      ),
    )
    const published = rows.flatMap((row, i) => {
      const r = results[i]
      return r.status === 'fulfilled' ? [{ row, seq: r.value.seq }] : []
    })
    if (published.length) await mark(published)
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed) throw failed.reason
  }

  /** Coalesces the marking of rows published right after their commit into one update. */
  private markSoon(published: PublishedRow[]): void {
    this.toMark.push(...published)
    this.markTimer ??= setTimeout(() => this.track(this.flushMarks()), this.o.markDelayMs)
  }

  private async flushMarks(): Promise<void> {
    clearTimeout(this.markTimer)
    this.markTimer = undefined
    const published = this.toMark
    this.toMark = []
    if (!published.length) return
    // If this fails the rows are published again by the poll, and dropped by JetStream as duplicates.
    await this.o.store
      .markPublished(
        published.map(p => p.row.id),
        published,
      )
      .catch(err => this.o.logger.warn({ err }, 'could not mark published outbox rows'))
    for (const p of published) this.inHand.delete(p.row.id)
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (!this.o.bus.publishing()) return
      await this.o.bus.ready()
      // A row committed a moment ago may not be kicked yet (its writer's answer still queued behind
      // other work); leave it to its writer for one poll interval, or it is published twice.
      const before = new Date(Date.now() - this.o.pollIntervalMs)
      const rows = await this.o.store.pending(this.o.batchSize, [...this.inHand], before)
      if (!rows.length) return
      await this.publish(rows, published =>
        this.o.store.markPublished(
          published.map(p => p.row.id),
          published,
        ),
      )
      if (rows.length < this.o.batchSize) return
    }
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    await this.idle()
  }
}

/**
 * Appends events of catalogue `C` to the outbox inside the current transaction; the payload must
 * match the type. A statement run on the transaction may write its own rows (StatementSink).
 */
export interface EventSink<C> extends StatementSink<C> {
  emit<K extends keyof C & string>(
    type: K,
    aggregateId: string,
    aggregateVersion: number,
    data: C[K],
  ): Promise<EventEnvelope<C[K], K>>
  /** The same sink, its events carrying another cause (one transaction applying several events). */
  withCause(cause: Cause): EventSink<C>
}

export type Cause = NewEvent<unknown>['cause']

export interface TransactorOptions<Tx, C> {
  /** Runs fn in one database transaction (the Prisma client's $transaction). */
  begin: <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>
  /** The database outside any transaction, where each statement commits on its own (PostgreSQL). */
  statements?: Statements
  insertOutbox: (tx: Tx, row: OutboxRow) => Promise<unknown>
  stream: string
  /** The events this service publishes. */
  catalogue: EventCatalogue<C>
  /** Called after a commit that wrote events, with their rows: the relay publishes them at once. */
  kick: Kick
}

export interface Transact<Tx, C> {
  /** State and its events in one transaction; the relay is kicked only after the commit. */
  <T>(cause: Cause, fn: (tx: Tx, events: EventSink<C>) => Promise<T>): Promise<T>
  /**
   * `fn`'s one statement, which writes its state and its own outbox rows (StatementSink), on the
   * database in no transaction: committed on its own, it needs neither BEGIN nor COMMIT. `fn` must
   * run exactly one writing statement, or what it writes is not atomic. The relay is kicked after it.
   */
  alone<T>(fn: (db: Statements, events: StatementSink<C>) => Promise<T>): Promise<T>
}

export function createTransactor<Tx, C>(o: TransactorOptions<Tx, C>): Transact<Tx, C> {
  const { context } = o.catalogue
  const transact = async <T>(cause: Cause, fn: (tx: Tx, events: EventSink<C>) => Promise<T>): Promise<T> => {
    let written: OutboxRow[] = []
    const result = await o.begin(tx => {
      written = [] // a retried transaction starts over
      const statements = statementSink<C>(o.stream, context, rows => written.push(...rows))
      const sink = (cause: Cause): EventSink<C> => ({
        async emit(type, aggregateId, aggregateVersion, data) {
          const event = createEvent({ type, aggregateId, aggregateVersion, data, cause })
          const row = outboxRow(o.stream, context, event)
          await o.insertOutbox(tx, row)
          written.push(row)
          return event
        },
        withCause: sink,
        ...statements,
      })
      return fn(tx, sink(cause))
    })
    if (written.length) o.kick(written)
    return result
  }
  const alone = async <T>(fn: (db: Statements, events: StatementSink<C>) => Promise<T>): Promise<T> => {
    if (!o.statements) throw new Error('this database runs no statements of its own (PostgreSQL only)')
    const written: OutboxRow[] = []
    const result = await fn(
      o.statements,
      statementSink<C>(o.stream, context, rows => written.push(...rows)),
    )
    if (written.length) o.kick(written)
    return result
  }
  return Object.assign(transact, { alone })
}

/** The part of a generated Prisma client the outbox needs: its OutboxEvent table and transactions. */
export interface PrismaOutboxClient<Tx extends { outboxEvent: OutboxTable<Envelope> }, Envelope> {
  $transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>
  outboxEvent: OutboxTable<Envelope>
}

export interface OutboxTable<Envelope> {
  create(args: { data: { id: string; subject: string; envelope: Envelope } }): Promise<unknown>
  findMany(args: {
    where: { publishedAt: null; createdAt: { lt: Date }; id?: { notIn: string[] } }
    orderBy: { seq: 'asc' }
    take: number
    select: { id: true; subject: true; envelope: true }
  }): Promise<{ id: string; subject: string; envelope: unknown }[]>
  updateMany(args: { where: { id: { in: string[] } }; data: { publishedAt: Date } }): Promise<unknown>
}

/**
 * The outbox of one service's Prisma database: the transactor its use cases write through and the
 * store its relay reads. `encode` turns an envelope into the column's type (jsonb, or text on SQLite).
 */
export function prismaOutbox<Tx extends { outboxEvent: OutboxTable<Envelope> }, Envelope, C>(
  db: PrismaOutboxClient<Tx, Envelope> & Tx & { statements?: Statements },
  o: { stream: string; catalogue: EventCatalogue<C>; kick: Kick; encode: (envelope: EventEnvelope) => Envelope },
): { transact: Transact<Tx, C>; store: OutboxStore } {
  return {
    transact: createTransactor<Tx, C>({
      begin: fn => db.$transaction(fn),
      statements: db.statements,
      insertOutbox: (tx, row) =>
        tx.outboxEvent.create({
          data: { id: row.id, subject: row.subject, envelope: o.encode(row.envelope as EventEnvelope) },
        }),
      stream: o.stream,
      catalogue: o.catalogue,
      kick: o.kick,
    }),
    store: db.statements ? postgresOutboxStore(db.statements) : prismaOutboxStore(db),
  }
}

/** The relay's view of a PostgreSQL OutboxEvent table, in its own statements; envelopes as their text. */
export function postgresOutboxStore(db: Statements): OutboxStore {
  return {
    pending: (limit, held, before) =>
      db.rows<OutboxRow>(sql`SELECT "id", "subject", "envelope"::text AS "envelope" FROM "OutboxEvent"
        WHERE "publishedAt" IS NULL AND "createdAt" < ${before} AND "id" <> ALL(${held}::uuid[])
        ORDER BY "seq" LIMIT ${limit}`),
    markPublished: async ids => {
      await db.rows(sql`UPDATE "OutboxEvent" SET "publishedAt" = now() WHERE "id" = ANY(${ids}::uuid[])`)
    },
  }
}

/** The relay's view of a Prisma OutboxEvent table (SQLite), for a service that writes its rows itself. */
export function prismaOutboxStore(db: {
  outboxEvent: Pick<OutboxTable<unknown>, 'findMany' | 'updateMany'>
}): OutboxStore {
  return {
    pending: (limit, held, before) =>
      db.outboxEvent.findMany({
        where: { publishedAt: null, createdAt: { lt: before }, ...(held.length ? { id: { notIn: held } } : {}) },
        orderBy: { seq: 'asc' },
        take: limit,
        select: { id: true, subject: true, envelope: true },
      }),
    markPublished: async ids => {
      await db.outboxEvent.updateMany({ where: { id: { in: ids } }, data: { publishedAt: new Date() } })
    },
  }
}
