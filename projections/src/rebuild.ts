// Rebuilds the ItemInfo read model from the event stream: empties it, then replays every event
// from sequence 1 through the same applyEvent the service uses, with an ordered (ephemeral,
// unacknowledged) consumer, so the rows come out exactly as incremental consumption made them.
//
//   npm run projections:rebuild        (same environment as the service: DATABASE_URL, NATS_URL, NATS_STREAM)
//
// STOP THE PROJECTIONS SERVICE FIRST. A service applying events while the table is emptied could
// create rows from a late event before the replay reaches the early ones. Afterwards the service's
// durable consumer resumes where it was; what it re-sees was recorded by the replay and is skipped.
// Replays announce nothing (ItemInfoChanged): the rows come back with the versions they had, and
// with the change feed's last position as their cursor (a client resuming from it misses nothing).
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect } from 'nats'
import type { NatsAuth } from '@gdmarket/platform/config'
import { parseEnvelope, subjectPrefix } from '@gdmarket/platform/events'
import { createLogger, type Logger } from '@gdmarket/platform/logger'
import { migrateDatabase } from '@gdmarket/platform/migrate'
import { main } from '@gdmarket/platform/service'
import { prismaRoot } from '@gdmarket/platform/subgraph'
import { readProjectionsConfig } from './config.js'
import { applyEvent, PROJECTIONS_CONSUMER } from './item-info.js'
import { itemInfoFeedStream } from '@gdmarket/contracts/item-info'
import { createProjectionsDb, resetProjection, setEveryCursor, type ProjectionsDb } from './store.js'

export interface RebuildOptions {
  db: ProjectionsDb
  natsUrl: string
  /** NATS_USER/NATS_PASSWORD or NATS_TOKEN, when the server requires them. */
  natsAuth?: NatsAuth
  stream: string
  logger: Logger
  /** How long an empty fetch waits before the replay counts the stream as read to its end (NATS needs ≥ 1000). */
  idleMs?: number
}

export interface RebuildResult {
  /** Events read from the stream. */
  events: number
  /** Events that changed an ItemInfo. */
  changes: number
  /** Stream sequence of the last event read (0 for an empty stream). */
  lastSeq: number
}

export async function rebuildItemInfo(o: RebuildOptions): Promise<RebuildResult> {
  const nc = await connect({ servers: o.natsUrl, name: 'projections-rebuild', ...o.natsAuth })
  const result: RebuildResult = { events: 0, changes: 0, lastSeq: 0 }
  try {
    // Opened first: a missing stream fails the rebuild before the read model is emptied.
    const consumer = await nc
      .jetstream()
      .consumers.get(o.stream, { filterSubjects: `${subjectPrefix(o.stream)}.*.*`, opt_start_seq: 1 })
    await resetProjection(o.db, PROJECTIONS_CONSUMER)
    // As the service's consumer does: applyEvent records every event of a type it handles in the
    // ledger (markApplied), changed something or not; the other types are settled without a record.
    for (let done = false; !done; ) {
      const batch = await consumer.fetch({ max_messages: 500, expires: Math.max(1000, o.idleMs ?? 2000) })
      let got = 0
      for await (const msg of batch) {
        got++
        // One at a time, in stream order: the order the incremental consumer keeps per item.
        const event = parseEnvelope(msg.data)
        if (await applyEvent({ db: o.db }, event, msg.seq)) result.changes++
        result.events++
        result.lastSeq = msg.seq
        // Read to the end as it was when we got here; later events are the service's to apply.
        if (msg.info.pending === 0) {
          done = true
          break
        }
      }
      if (got === 0) done = true
      if (result.events && result.events % 10_000 < got) o.logger.info({ ...result }, 'rebuilding')
    }
    const feed = await (await nc.jetstreamManager()).streams.info(itemInfoFeedStream(o.stream)).catch(() => null)
    if (feed) await setEveryCursor(o.db, feed.state.last_seq)
  } finally {
    await nc.close()
  }
  o.logger.info({ ...result }, 'ItemInfo rebuilt')
  return result
}

const runAsScript = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)

if (runAsScript) {
  main(async () => {
    const config = readProjectionsConfig()
    const logger = createLogger('projections-rebuild', config.logLevel)
    await migrateDatabase({ url: config.databaseUrl, dir: path.join(prismaRoot, 'projections') })
    const db = createProjectionsDb(config.databaseUrl, 2)
    try {
      await rebuildItemInfo({
        db,
        natsUrl: config.natsUrl,
        natsAuth: config.natsAuth,
        stream: config.natsStream,
        logger,
      })
    } finally {
      await db.$disconnect()
    }
  })
}
