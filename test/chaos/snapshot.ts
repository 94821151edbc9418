// Reads what the checker compares, read-only, straight from every database and stream: the item,
// reservation and projections PostgreSQL databases, payment's SQLite file, the domain stream and
// its dead letters. It reads across every service's data as an auditor would, so it uses plain
// SQL rather than the services' stores (which each see only their own database).
import { createClient } from '@libsql/client'
import { connect } from 'nats'
import pg from 'pg'
import type { EventEnvelope } from '@gdmarket/platform/events'
import type { Snapshot, StreamEvent } from './checker.js'

export interface Sources {
  databaseUrls: { item: string; reservation: string; payment: string; projections: string }
  natsUrl: string
  stream: string
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<T>(sql)).rows
  } finally {
    await client.end()
  }
}

/** Every message of a stream, in order, with its sequence; [] when the stream does not exist. */
export async function readStream(natsUrl: string, stream: string): Promise<{ seq: number; data: Uint8Array }[]> {
  const nc = await connect({ servers: natsUrl, timeout: 5000 })
  try {
    const jsm = await nc.jetstreamManager()
    const info = await jsm.streams.info(stream).catch(() => undefined)
    if (!info || info.state.messages === 0) return []
    const last = info.state.last_seq
    const consumer = await nc.jetstream().consumers.get(stream, { opt_start_seq: info.state.first_seq })
    const out: { seq: number; data: Uint8Array }[] = []
    while (out.length === 0 || out[out.length - 1].seq < last) {
      const batch = await consumer.fetch({ max_messages: 1000, expires: 2000 })
      let got = 0
      for await (const msg of batch) {
        got++
        out.push({ seq: msg.seq, data: msg.data })
        if (msg.seq >= last) break
      }
      if (got === 0) break
    }
    return out
  } finally {
    await nc.close()
  }
}

export async function readSnapshot(src: Sources): Promise<Snapshot> {
  const { item, reservation, payment, projections } = src.databaseUrls
  const sqlite = createClient({ url: payment })
  const [items, reservations, payments, itemInfos, processed, outbox, events, deadLetters] = await Promise.all([
    query<Snapshot['items'][number]>(
      item,
      `SELECT id, name, price, status::text AS status, "rentalStatus"::text AS "rentalStatus",
              "holdReservationId", "deletedAt" IS NOT NULL AS deleted FROM "Item"`,
    ),
    query<Snapshot['reservations'][number]>(
      reservation,
      `SELECT id, "itemId", status::text AS status, "paymentStatus"::text AS "paymentStatus",
              "rentalStatus"::text AS "rentalStatus" FROM "Reservation"`,
    ),
    sqlite
      .execute('SELECT reservationId, status FROM Payment')
      .then(r => r.rows.map(row => ({ reservationId: String(row.reservationId), status: String(row.status) }))),
    query<Snapshot['itemInfos'][number]>(
      projections,
      `SELECT "itemId", "itemName", "itemPrice", "itemStatus"::text AS "itemStatus",
              "rentalStatus"::text AS "rentalStatus", deleted, "reservationId",
              "reservationStatus"::text AS "reservationStatus", "paymentStatus"::text AS "paymentStatus"
         FROM "ItemInfo"`,
    ),
    Promise.all(
      [item, reservation, projections].map(url =>
        query<{ consumer: string; eventId: string }>(url, `SELECT consumer, "eventId" FROM "ProcessedEvent"`),
      ),
    ).then(all => all.flat()),
    Promise.all([
      ...(['item', 'reservation'] as const).map(db =>
        query<{ id: string; published: boolean }>(
          src.databaseUrls[db],
          `SELECT id, "publishedAt" IS NOT NULL AS published FROM "OutboxEvent"`,
        ).then(rows => rows.map(r => ({ db, ...r }))),
      ),
      sqlite
        .execute('SELECT id, publishedAt IS NOT NULL AS published FROM OutboxEvent')
        .then(r => r.rows.map(row => ({ db: 'payment', id: String(row.id), published: Boolean(row.published) }))),
    ]).then(all => all.flat()),
    readStream(src.natsUrl, src.stream).then(msgs =>
      msgs.map(
        m => ({ ...(JSON.parse(new TextDecoder().decode(m.data)) as EventEnvelope), seq: m.seq }) as StreamEvent,
      ),
    ),
    readStream(src.natsUrl, `${src.stream}_DEADLETTER`).then(m => m.length),
  ]).finally(() => sqlite.close())
  return {
    items,
    reservations,
    payments,
    itemInfos,
    events,
    processed,
    outbox,
    deadLetters,
  }
}
