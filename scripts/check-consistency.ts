// `npm run check-consistency`: the chaos suite's consistency checker against the databases and
// stream `npm start` uses (the same defaults and environment the services read: each database's
// default url or <DB>_DATABASE_URL, NATS_URL, NATS_STREAM). Read-only. Run it once the system is
// quiet (nothing in flight); exits 1 unless every row is 0. Without a load log it cannot tell
// "accepted but lost", so that row counts only what the databases and stream disagree on.
import { defaultDatabaseUrl } from '@gdmarket/contracts/services'
import { check, decisionLatencies, formatTable, percentile } from '../test/chaos/checker.js'
import { readSnapshot } from '../test/chaos/snapshot.js'

const url = (db: 'item' | 'reservation' | 'payment' | 'projections') =>
  process.env[`${db.toUpperCase()}_DATABASE_URL`] ?? defaultDatabaseUrl(db)

const snapshot = await readSnapshot({
  databaseUrls: {
    item: url('item'),
    reservation: url('reservation'),
    payment: url('payment'),
    projections: url('projections'),
  },
  natsUrl: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
  stream: process.env.NATS_STREAM ?? 'GDMARKET',
})
// ProcessedEvent rows older than the services' retention window are pruned: not looked for.
const retentionMs = Number(process.env.PROCESSED_EVENT_RETENTION_MS ?? 7 * 24 * 3600_000)
const result = check({ ...snapshot, processedSince: Date.now() - retentionMs + 3600_000 })
const { decided, undecided } = decisionLatencies(snapshot.events)
console.log(
  `${snapshot.items.length} items, ${snapshot.reservations.length} reservations, ${snapshot.payments.length} payments, ${snapshot.events.length} events`,
)
console.log(
  `reserve → decided (${decided.length} decided, ${undecided} undecided): p50 ${percentile(decided, 50)} ms, p99 ${percentile(decided, 99)} ms, max ${decided.at(-1) ?? 0} ms`,
)
console.log(formatTable(result))
process.exit(result.ok ? 0 : 1)
