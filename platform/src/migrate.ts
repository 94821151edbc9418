// Applies a database's Prisma migrations (what `prisma migrate deploy` does) with the official Wasm
// build of Prisma's schema engine and a driver adapter, so start-up and tests migrate offline.
// The migrations folders stay Prisma-standard: the CLI deploys the same folders where it can run.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { createRequire } from 'node:module'
import * as engineBindings from '@prisma/schema-engine-wasm/schema_engine_bg'
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaLibSql } from '@prisma/adapter-libsql'
import pg from 'pg'
import { isPostgresUrl, pgConfig, sqliteFile } from './database.js'

type Engine = Awaited<ReturnType<typeof engineBindings.SchemaEngine.new>>

// Node has WebAssembly; the ES lib typings do not declare it.
interface WasmApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (
    module: object,
    imports: Record<string, unknown>,
  ) => { exports: { __wbindgen_start: () => void } & Record<string, unknown> }
}

let wasmLoaded = false
// The package's entry imports a .wasm module, which Node 20 cannot; instantiate it by hand once.
function loadWasm(): void {
  if (wasmLoaded) return
  const require = createRequire(import.meta.url)
  const wasmFile = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg').replace(/\.js$/, '.wasm')
  const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly
  const instance = new wasm.Instance(new wasm.Module(readFileSync(wasmFile)), {
    './schema_engine_bg.js': engineBindings,
  })
  engineBindings.__wbg_set_wasm(instance.exports)
  instance.exports.__wbindgen_start()
  wasmLoaded = true
}

// adapter-pg cannot map PostgreSQL's internal "char" type (OID 18) that the schema describer reads
// from pg_catalog; report it as text (OID 25). Only the migration connections use this pg.Result.
let charPatched = false
function patchPgChar(): void {
  if (charPatched) return
  const proto = (pg as unknown as { Result: { prototype: { addFields: (f: { dataTypeID: number }[]) => void } } })
    .Result.prototype
  const addFields = proto.addFields
  proto.addFields = function (this: unknown, fields: { dataTypeID: number }[]) {
    for (const f of fields) if (f.dataTypeID === 18) f.dataTypeID = 25
    return addFields.call(this, fields)
  }
  charPatched = true
}

type PgAdapter = Awaited<ReturnType<PrismaPg['connect']>>

/**
 * adapter-pg runs a migration script statement by statement, split at every ";", which breaks a
 * function body or a string that holds one; Prisma's own engine sends the whole script, and so do
 * we: one simple query, which PostgreSQL runs as one implicit transaction.
 */
function wholeScripts(adapter: PgAdapter): PgAdapter {
  adapter.executeScript = async script => {
    try {
      await adapter.underlyingDriver().query(script)
    } catch (e) {
      ;(adapter as unknown as { onError(e: unknown): never }).onError(e)
    }
  }
  return adapter
}

/** PrismaPg's own shadow database handling is unsafe with a connection string (it can reuse the main
 *  database) and drops the database before its pool closes; create and drop one by hand instead. */
class PgMigrationFactory extends PrismaPg {
  constructor(private readonly cfg: pg.PoolConfig) {
    super(cfg)
  }
  override async connect() {
    return wholeScripts(await super.connect())
  }
  override async connectToShadowDb() {
    const admin = await this.connect()
    const name = `prisma_migrate_shadow_db_${crypto.randomUUID().replaceAll('-', '')}`
    await admin.executeScript(`CREATE DATABASE "${name}"`)
    const shadow = wholeScripts(await new PrismaPg({ ...this.cfg, database: name }).connect())
    const close = shadow.dispose.bind(shadow)
    shadow.dispose = async () => {
      await close()
      await admin.executeScript(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      await admin.dispose()
    }
    return shadow
  }
}

/** libsql runs only the first statement of a parameterless multi-statement script given to executeRaw. */
class LibSqlMigrationFactory extends PrismaLibSql {
  override async connectToShadowDb() {
    const adapter = await super.connectToShadowDb()
    const raw = adapter.executeRaw.bind(adapter)
    adapter.executeRaw = async q => {
      if (q.args.length) return raw(q)
      await adapter.executeScript(q.sql)
      return 0
    }
    return adapter
  }
}

export interface MigrationTarget {
  /** `postgresql://…` or `file:…` */
  url: string
  /** Folder holding `schema.prisma` and `migrations/`. */
  dir: string
}

const filters = { externalTables: [], externalEnums: [] }

export function migrationsList(dir: string) {
  const baseDir = path.join(dir, 'migrations')
  const lockPath = path.join(baseDir, 'migration_lock.toml')
  return {
    baseDir,
    shadowDbInitScript: '',
    lockfile: { path: 'migration_lock.toml', content: existsSync(lockPath) ? readFileSync(lockPath, 'utf8') : null },
    migrationDirectories: (existsSync(baseDir) ? readdirSync(baseDir, { withFileTypes: true }) : [])
      .filter(d => d.isDirectory())
      .map(d => d.name)
      .sort()
      .map(name => ({
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: { tag: 'ok' as const, value: readFileSync(path.join(baseDir, name, 'migration.sql'), 'utf8') },
        },
      })),
  }
}

function adapterFor(url: string): ReturnType<typeof bindMigrationAwareSqlAdapterFactory> {
  if (isPostgresUrl(url)) {
    patchPgChar()
    return bindMigrationAwareSqlAdapterFactory(new PgMigrationFactory(pgConfig(url)))
  }
  return bindMigrationAwareSqlAdapterFactory(new LibSqlMigrationFactory({ url }))
}

/** Opens the schema engine on a database with the folder's datamodel; the caller frees it. */
export async function openSchemaEngine(
  target: MigrationTarget,
): Promise<{ engine: Engine; schema: { files: { path: string; content: string }[] } }> {
  loadWasm()
  const schemaPath = path.join(target.dir, 'schema.prisma')
  const content = readFileSync(schemaPath, 'utf8')
  const engine = await engineBindings.SchemaEngine.new(
    { datamodels: [[schemaPath, content]] },
    () => {},
    adapterFor(target.url),
  )
  return { engine, schema: { files: [{ path: schemaPath, content }] } }
}

/** Creates the PostgreSQL database named in the url if it does not exist. */
export async function ensurePostgresDatabase(url: string): Promise<void> {
  const cfg = pgConfig(url)
  const admin = new pg.Client({ ...cfg, database: 'postgres' })
  await admin.connect()
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [cfg.database])
    if (!rowCount) {
      await admin
        .query(`CREATE DATABASE "${String(cfg.database).replaceAll('"', '""')}"`)
        .catch((e: { code?: string }) => {
          if (e.code !== '42P04' && e.code !== '23505') throw e // created concurrently by another process
        })
    }
  } finally {
    await admin.end()
  }
}

/** Creates the database if needed and applies pending migrations. Safe from several processes at
 *  once: on PostgreSQL the engine serializes them with an advisory lock, as `migrate deploy` does. */
export async function migrateDatabase(target: MigrationTarget): Promise<string[]> {
  if (isPostgresUrl(target.url)) await ensurePostgresDatabase(target.url)
  else await mkdir(path.dirname(sqliteFile(target.url)), { recursive: true })
  const applied = await applyWithEngine(target)
  if (!isPostgresUrl(target.url)) await writeAheadLog(target.url)
  return applied
}

/**
 * SQLite keeps its journal as a write-ahead log: a commit appends to the log and syncs it once,
 * instead of writing a rollback journal and syncing the journal and the database each time. Just
 * as durable (synchronous stays FULL); the mode is kept in the file, so this is done once.
 */
async function writeAheadLog(url: string): Promise<void> {
  const adapter = await new PrismaLibSql({ url: `file:${sqliteFile(url)}` }).connect()
  try {
    await adapter.queryRaw({ sql: 'PRAGMA journal_mode=WAL', args: [], argTypes: [] })
  } finally {
    await adapter.dispose()
  }
}

async function applyWithEngine(target: MigrationTarget): Promise<string[]> {
  const { engine } = await openSchemaEngine(target)
  try {
    const out = await engine.applyMigrations({ migrationsList: migrationsList(target.dir), filters })
    return out.appliedMigrationNames
  } finally {
    engine.free()
  }
}

export { filters as migrationFilters }
