// Retention on real PostgreSQL and JetStream: published outbox rows and processed-event ids older
// than their windows are pruned (unpublished rows and recent ids stay); windows shorter than the
// duplicate window are refused by the config; a stream near its size limit is warned about.
import { afterAll, beforeAll, expect, it } from '@jest/globals'
import { randomBytes, randomUUID } from 'node:crypto'
import path from 'node:path'
import pg from 'pg'
import { DEFAULT_STREAM_LIMITS, EventBus } from '@gdmarket/platform/bus'
import { ConfigError, readConfig, readEventsConfig } from '@gdmarket/platform/config'
import { createLogger } from '@gdmarket/platform/logger'
import { migrateDatabase } from '@gdmarket/platform/migrate'
import { Retention, standardPruners, type PrunableTables } from '@gdmarket/platform/retention'
import { createItemDb, type ItemDb } from '../subgraphs/item/src/store.js'
import { ROOT } from './harness.js'

const id = randomBytes(4).toString('hex')
const dbUrl = `postgresql://postgres@127.0.0.1:5432/gdm_retention_${id}`
const logger = createLogger('retention-test', 'silent')
let db: ItemDb

beforeAll(async () => {
  await migrateDatabase({ url: dbUrl, dir: path.join(ROOT, 'prisma', 'item') })
  db = createItemDb(dbUrl, 2)
}, 60_000)

afterAll(async () => {
  await db?.$disconnect()
  const admin = new pg.Client('postgresql://postgres@127.0.0.1:5432/postgres')
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS "gdm_retention_${id}" WITH (FORCE)`)
  await admin.end()
})

it('prunes published outbox rows and processed ids past their windows, and nothing else', async () => {
  const hour = 3600_000
  const ago = (ms: number) => new Date(Date.now() - ms)
  const row = (publishedAt: Date | null) => ({
    id: randomUUID(),
    subject: 'gdmarket.item.ItemRegistered',
    envelope: {},
    publishedAt,
  })
  await db.outboxEvent.createMany({ data: [row(ago(25 * hour)), row(ago(hour)), row(null)] })
  await db.processedEvent.createMany({
    data: [
      { consumer: 'item', eventId: randomUUID(), processedAt: ago(8 * 24 * hour) },
      { consumer: 'item', eventId: randomUUID(), processedAt: ago(hour) },
    ],
  })
  const retention = new Retention(
    standardPruners(db as unknown as PrunableTables, { outboxMs: 24 * hour, processedMs: 7 * 24 * hour }),
    60_000,
    logger,
  )
  await retention.runOnce()
  expect(await db.outboxEvent.count()).toBe(2)
  expect(await db.outboxEvent.count({ where: { publishedAt: null } })).toBe(1)
  expect(await db.processedEvent.count()).toBe(1)
  await retention.stop()
})

it('refuses retention windows that are not longer than the duplicate window', () => {
  const read = (env: NodeJS.ProcessEnv) => () => readConfig(r => readEventsConfig(r, 'item'), env)
  expect(read({ OUTBOX_RETENTION_MS: '60000' })).toThrow(ConfigError)
  expect(read({ PROCESSED_EVENT_RETENTION_MS: '120000' })).toThrow(/PROCESSED_EVENT_RETENTION_MS/)
  expect(read({ OUTBOX_RETENTION_MS: '300000', NATS_DUPLICATE_WINDOW_MS: '60000' })()).toMatchObject({
    outboxRetentionMs: 300_000,
  })
})

it('warns when a stream nears its size limit', async () => {
  const stream = `TR${id.toUpperCase()}`
  const bus = new EventBus({
    url: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
    stream,
    name: 'retention-test',
    logger,
    limits: { ...DEFAULT_STREAM_LIMITS, maxBytes: 1024 * 1024, warnRatio: 0.5 },
  })
  try {
    const { js, jsm } = await bus.ready()
    expect(await bus.checkFill([stream])).toEqual([])
    const payload = 'x'.repeat(64 * 1024)
    for (let i = 0; i < 10; i++) await js.publish(`${stream.toLowerCase()}.item.Filler`, payload)
    const warnings = await bus.checkFill([stream])
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(new RegExp(`^${stream} holds \\d+ of its 1048576 bytes$`))
    for (const s of [stream, `${stream}_DEADLETTER`]) await jsm.streams.delete(s)
  } finally {
    await bus.close()
  }
})
