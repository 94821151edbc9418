// Idempotency keys. A client may send `Idempotency-Key: <key>` with any mutation (the router
// forwards it to the subgraph that runs the mutation). The subgraph records key + caller +
// operation → the answer in the very transaction that commits the mutation's answer, so a crash
// between that commit and the response cannot make a retry run it again: a retry with the same key
// and caller gets the first answer back and changes nothing more. A mutation that failed committed
// nothing (and recorded nothing), so its retry simply runs. Records are kept
// IDEMPOTENCY_RETENTION_MS (24 h by default), then pruned by the service's retention.
import { createHash } from 'node:crypto'
import { badInput } from './errors.js'
import type { ConfigReader } from './config.js'
import type { Pruner } from './retention.js'

export const IDEMPOTENCY_HEADER = 'idempotency-key'
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255
// Printable ASCII without spaces at the ends: what a UUID, a ULID or a client's own token looks like.
const KEY = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/

export interface IdempotencyConfig {
  /** How long a key's answer is kept and replayed; then it is pruned with the service's retention. */
  idempotencyRetentionMs: number
}

export function readIdempotencyConfig(r: ConfigReader): IdempotencyConfig {
  return { idempotencyRetentionMs: r.int('IDEMPOTENCY_RETENTION_MS', 24 * 60 * 60 * 1000, { min: 1000 }) }
}

type Headers = Record<string, string | string[] | undefined>

/** The request's key, null without one; a malformed key is BAD_USER_INPUT. */
export function idempotencyKeyOf(headers: Headers): string | null {
  const raw = headers[IDEMPOTENCY_HEADER]
  const key = Array.isArray(raw) ? raw[0] : raw
  if (key === undefined || key === '') return null
  if (key.length > IDEMPOTENCY_KEY_MAX_LENGTH || !KEY.test(key))
    throw badInput(`Idempotency-Key must be 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters`)
  return key
}

/** What identifies one use of a key: who, which key, which mutation, and a hash of its arguments. */
export interface KeyedRequest {
  callerId: string
  key: string
  operation: string
  request: string
}

export interface IdempotencyRecord {
  request: string
  response: unknown
  createdAt: Date
}

/** A service's IdempotencyRecord table (its store implements it with Prisma). */
export interface IdempotencyTable<Tx> {
  find(r: KeyedRequest): Promise<IdempotencyRecord | null>
  /** Inserts in the mutation's transaction; a concurrent first use of the key makes it fail (unique key). */
  save(tx: Tx, r: KeyedRequest, response: unknown): Promise<void>
  forget(r: KeyedRequest): Promise<void>
  prune(before: Date): Promise<number>
  isDuplicate(e: unknown): boolean
}

/** Called by a use case inside the transaction that commits its answer, with that answer. */
export type Answer<Tx, T> = (tx: Tx, result: T) => Promise<void>

const hash = (args: unknown) => createHash('sha256').update(JSON.stringify(args)).digest('base64url')

/** JSON turns Dates into strings; the answer comes back with them as Dates again (fields named …At). */
const reviveDates = (value: unknown): unknown =>
  value && typeof value === 'object'
    ? Object.fromEntries(
        Object.entries(value).map(([k, v]) => [
          k,
          k.endsWith('At') && typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? new Date(v) : v,
        ]),
      )
    : value

export class Idempotency<Tx> {
  constructor(
    private readonly table: IdempotencyTable<Tx>,
    private readonly config: IdempotencyConfig,
  ) {}

  /**
   * Runs `mutation` once per key: with no key (or no caller) it just runs; with a key seen before it
   * answers what the first run answered; otherwise it runs, and `answer` records the result in the
   * transaction the use case passes it.
   */
  async run<T>(
    use: { key: string | null; callerId: string | null; operation: string; args: unknown },
    mutation: (answer: Answer<Tx, T> | undefined) => Promise<T>,
  ): Promise<T> {
    if (!use.key || !use.callerId) return mutation(undefined)
    const r: KeyedRequest = { callerId: use.callerId, key: use.key, operation: use.operation, request: hash(use.args) }
    const first = await this.replay<T>(r)
    if (first.found) return first.value
    try {
      return await mutation((tx, result) => this.table.save(tx, r, result))
    } catch (e) {
      if (!this.table.isDuplicate(e)) throw e
      // Another request with the same key committed first (its effect stands, ours rolled back).
      const winner = await this.replay<T>(r)
      if (winner.found) return winner.value
      throw e
    }
  }

  private async replay<T>(r: KeyedRequest): Promise<{ found: true; value: T } | { found: false }> {
    const record = await this.table.find(r)
    if (!record) return { found: false }
    if (record.createdAt.getTime() < Date.now() - this.config.idempotencyRetentionMs) {
      await this.table.forget(r)
      return { found: false }
    }
    if (record.request !== r.request) throw badInput('this Idempotency-Key was used for other arguments')
    return { found: true, value: reviveDates(record.response) as T }
  }

  /** Expired records, for the platform's retention (platform/retention.ts, every RETENTION_INTERVAL_MS). */
  pruner(): Pruner {
    return {
      name: 'idempotency records',
      keepMs: this.config.idempotencyRetentionMs,
      prune: before => this.table.prune(before),
    }
  }
}

/** The IdempotencyTable of a Prisma client whose schema has the standard IdempotencyRecord model. */
export function prismaIdempotencyTable<Tx extends { idempotencyRecord: PrismaIdempotencyDelegate }>(
  db: { idempotencyRecord: PrismaIdempotencyDelegate },
  isDuplicate: (e: unknown) => boolean,
): IdempotencyTable<Tx> {
  const id = (r: KeyedRequest) => ({ callerId: r.callerId, key: r.key, operation: r.operation })
  return {
    find: r => db.idempotencyRecord.findUnique({ where: { callerId_key_operation: id(r) } }),
    save: async (tx, r, response) => {
      await tx.idempotencyRecord.create({ data: { ...id(r), request: r.request, response: toJson(response) } })
    },
    forget: async r => {
      await db.idempotencyRecord.deleteMany({ where: id(r) })
    },
    prune: async before => (await db.idempotencyRecord.deleteMany({ where: { createdAt: { lt: before } } })).count,
    isDuplicate,
  }
}

// Plain JSON (BigInt as a string), as the jsonb column stores it.
const toJson = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v)))

export interface PrismaIdempotencyDelegate {
  findUnique(args: {
    where: { callerId_key_operation: { callerId: string; key: string; operation: string } }
  }): Promise<IdempotencyRecord | null>
  create(args: {
    data: { callerId: string; key: string; operation: string; request: string; response: unknown }
  }): Promise<unknown>
  deleteMany(args: { where: object }): Promise<{ count: number }>
}
