// The consistency checker: given what every database and stream holds (a Snapshot) and what the
// load was told (the accepted mutations), counts each kind of disagreement. Every row must be 0.
// Pure functions only: reading the databases is snapshot.ts's job, so these rules are unit-tested
// on crafted data (checker.test.ts) and run unchanged against a chaos run or `npm start`.
import type { EventEnvelope } from '@gdmarket/platform/events'
import { canChange, itemIdOf } from '../../projections/src/item-info-rules.js'

export interface ItemRow {
  id: string
  name: string
  price: number
  status: string
  rentalStatus: string
  holdReservationId: string | null
  deleted: boolean
}

export interface ReservationRow {
  id: string
  itemId: string
  status: string
  paymentStatus: string
  rentalStatus: string
}

export interface PaymentRow {
  reservationId: string
  status: string
}

export interface ItemInfoRow {
  itemId: string
  itemName: string
  itemPrice: number
  itemStatus: string
  rentalStatus: string
  deleted: boolean
  reservationId: string | null
  reservationStatus: string | null
  paymentStatus: string | null
}

export interface StreamEvent extends EventEnvelope<Record<string, unknown>> {
  seq: number
}

export interface OutboxRow {
  db: string
  id: string
  published: boolean
}

export interface Snapshot {
  items: ItemRow[]
  reservations: ReservationRow[]
  payments: PaymentRow[]
  itemInfos: ItemInfoRow[]
  /** The domain stream, in stream order. */
  events: StreamEvent[]
  /** ProcessedEvent rows of every database. */
  processed: { consumer: string; eventId: string }[]
  /** Outbox rows of every database that publishes to the domain stream. */
  outbox: OutboxRow[]
  deadLetters: number
  /** ProcessedEvent rows are pruned after a retention window: events older than this (ms epoch) are not looked for there. */
  processedSince?: number
}

export type MutationName =
  | 'registerItem'
  | 'deleteItem'
  | 'reserveItem'
  | 'cancelReservation'
  | 'payReservation'
  | 'cancelPayment'
  | 'lendItem'
  | 'returnItem'

/** One mutation the load sent and the answer it got; only `ok` ones are promises the system made. */
export interface MutationRecord {
  op: MutationName
  /** The reservation or item it was about (reserveItem/registerItem: the id it answered). */
  target: string
  /** For mutations about a reservation: its item, when known. */
  itemId?: string
  sentAt: number
  answeredAt: number
  /** 'ok', a contract error code, or 'unknown' (no answer: timeout, connection lost). */
  outcome: string
}

/** Which consumer applies which events (each records the event id in ProcessedEvent when it does). */
export const CONSUMES: Record<string, (type: string) => boolean> = {
  item: t => ['ReservationRequested', 'ReservationCancelled', 'ReservationRentalChanged'].includes(t),
  reservation: t => ['ItemHeld', 'ItemHoldRejected', 'ItemDeleted'].includes(t),
  projections: canChange,
}

export const ROWS = [
  'accepted mutations lost or not reflected',
  'answered INTERNAL_SERVER_ERROR',
  'reservations PENDING after settling',
  'double bookings (final state)',
  'double bookings (item history)',
  'item released while lent',
  'item and reservation disagree',
  'lent without a charge or with a refund',
  'cancelled or rejected yet lent',
  'charge without PAID',
  'PAID without charge',
  'money on a CANCELLED/REJECTED reservation',
  'ItemInfo ≠ sources',
  'events applied twice',
  'events missing',
  'decided out of stream order',
  'first-come violations',
  'dead letters',
  'restarts that exited before ready',
] as const

export type RowName = (typeof ROWS)[number]

export interface CheckResult {
  rows: { name: RowName; count: number; examples: string[] }[]
  ok: boolean
}

class Tally {
  private readonly found = new Map<RowName, string[]>(ROWS.map(r => [r, []]))
  add(row: RowName, example: string): void {
    this.found.get(row)!.push(example)
  }
  result(): CheckResult {
    const rows = ROWS.map(name => {
      const all = this.found.get(name)!
      return { name, count: all.length, examples: all.slice(0, 5) }
    })
    return { rows, ok: rows.every(r => r.count === 0) }
  }
}

const by = <T, K>(list: T[], key: (t: T) => K): Map<K, T> => new Map(list.map(t => [key(t), t]))

function groupBy<T>(list: T[], key: (t: T) => string | null | undefined): Map<string, T[]> {
  const m = new Map<string, T[]>()
  for (const t of list) {
    const k = key(t)
    if (k == null) continue
    const g = m.get(k)
    if (g) g.push(t)
    else m.set(k, [t])
  }
  return m
}

const reservationIdOf = (e: StreamEvent): string | undefined =>
  (e.data.reservationId as string | undefined) ??
  (e.data.reservation as { reservationId?: string } | undefined)?.reservationId

/** Reservations that were ever lent: by the item's ItemLent or by a reservation event saying RENTING. */
function lentReservations(events: StreamEvent[]): Set<string> {
  const lent = new Set<string>()
  for (const e of events) {
    if (e.type === 'ItemLent') lent.add(e.data.reservationId as string)
    const r = e.data.reservation as { reservationId?: string; rentalStatus?: string } | undefined
    if (e.type.startsWith('Reservation') && r?.rentalStatus === 'RENTING' && r.reservationId) lent.add(r.reservationId)
  }
  return lent
}

/** The stream with re-published copies (same event id) folded into their first occurrence. */
export function distinctEvents(events: StreamEvent[]): StreamEvent[] {
  const seen = new Set<string>()
  return events.filter(e => !seen.has(e.id) && seen.add(e.id))
}

const ITEM_HISTORY = new Set(['ItemRegistered', 'ItemHeld', 'ItemReleased', 'ItemLent', 'ItemReturned', 'ItemDeleted'])
const FINAL = new Set(['CANCELLED', 'REJECTED'])

/** What the run itself saw happen to the processes (none for check-consistency). */
export interface Observed {
  /** A restarted process that exited before it was ready (e.g. its database was down): each attempt. */
  failedStarts: string[]
}

export function check(s: Snapshot, accepted: MutationRecord[] = [], observed?: Observed): CheckResult {
  const t = new Tally()
  for (const f of observed?.failedStarts ?? []) t.add('restarts that exited before ready', f)
  const events = distinctEvents(s.events)
  const items = by(s.items, i => i.id)
  const reservations = by(s.reservations, r => r.id)
  const payments = by(s.payments, p => p.reservationId)
  const infos = by(s.itemInfos, i => i.itemId)
  const requestSeq = new Map<string, number>()
  for (const e of events) if (e.type === 'ReservationRequested') requestSeq.set(e.aggregateId, e.seq)
  const lent = lentReservations(events)

  checkAccepted(t, accepted, s, events)

  // Final state of each reservation, and its money.
  for (const r of s.reservations) {
    if (r.status === 'PENDING') t.add('reservations PENDING after settling', r.id)
    const charge = payments.get(r.id)
    const charged = charge?.status === 'PAID'
    if (charged && r.paymentStatus !== 'PAID') t.add('charge without PAID', r.id)
    if (!charged && r.paymentStatus === 'PAID') t.add('PAID without charge', r.id)
    if (charged && FINAL.has(r.status)) t.add('money on a CANCELLED/REJECTED reservation', `${r.id} ${r.status}`)
    if (lent.has(r.id) && FINAL.has(r.status)) t.add('cancelled or rejected yet lent', `${r.id} ${r.status}`)
  }
  for (const id of lent) {
    const charge = payments.get(id)
    if (charge?.status !== 'PAID')
      t.add('lent without a charge or with a refund', `${id} ${charge?.status ?? 'no charge'}`)
  }

  // Final state of each item: one active reservation at most, the one the item says it holds.
  const active = groupBy(
    s.reservations.filter(r => r.status === 'CONFIRMED' && r.rentalStatus !== 'RETURNED'),
    r => r.itemId,
  )
  for (const [itemId, list] of active) {
    if (list.length > 1) t.add('double bookings (final state)', `${itemId}: ${list.map(r => r.id).join(', ')}`)
    const item = items.get(itemId)
    for (const r of list)
      if (item && !item.deleted && item.holdReservationId !== r.id)
        t.add('item and reservation disagree', `${itemId} holds ${item.holdReservationId} but ${r.id} is CONFIRMED`)
  }
  for (const item of s.items) {
    if (!item.holdReservationId) continue
    const r = reservations.get(item.holdReservationId)
    if (r?.status !== 'CONFIRMED')
      t.add('item and reservation disagree', `${item.id} holds ${item.holdReservationId} (${r?.status ?? 'unknown'})`)
    else if (item.rentalStatus === 'RENTING' && r.rentalStatus !== 'RENTING')
      t.add('item and reservation disagree', `${item.id} RENTING for ${r.id} (${r.rentalStatus})`)
  }
  for (const r of s.reservations) {
    if (r.rentalStatus !== 'RENTING') continue
    const item = items.get(r.itemId)
    // Not holding it at all is counted above (an active reservation the item does not hold).
    if (item && item.holdReservationId === r.id && item.rentalStatus !== 'RENTING')
      t.add('item and reservation disagree', `${r.id} RENTING but ${r.itemId} is ${item.rentalStatus}`)
  }

  checkItemHistory(t, events, requestSeq)
  checkItemInfos(t, s, infos, reservations)
  checkEvents(t, s, events)
  for (let i = 0; i < s.deadLetters; i++) t.add('dead letters', `#${i + 1}`)
  return t.result()
}

/**
 * Each item's own history, in its version order: never held twice at once, never released while
 * lent, and its hold decisions taken in the order the requests are in the stream (first come,
 * first served). A rejection carries the item's version at the time, so it sorts after the change
 * that made that version.
 */
function checkItemHistory(t: Tally, events: StreamEvent[], requestSeq: Map<string, number>): void {
  const decisions = new Set(['ItemHeld', 'ItemHoldRejected'])
  const perItem = groupBy(
    events.filter(e => ITEM_HISTORY.has(e.type) || e.type === 'ItemHoldRejected'),
    e => e.aggregateId,
  )
  for (const [itemId, list] of perItem) {
    const ordered = [...list].sort(
      (a, b) =>
        a.aggregateVersion - b.aggregateVersion ||
        Number(a.type === 'ItemHoldRejected') - Number(b.type === 'ItemHoldRejected') ||
        // Rejections of one version in request order: two relays may publish them in either order.
        (requestSeq.get(a.data.reservationId as string) ?? a.seq) -
          (requestSeq.get(b.data.reservationId as string) ?? b.seq) ||
        a.seq - b.seq,
    )
    let holder: string | null = null
    let renting = false
    let lastDecidedRequest = -1
    for (const e of ordered) {
      const rid = e.data.reservationId as string
      if (decisions.has(e.type)) {
        const seq = requestSeq.get(rid) ?? -1
        if (seq < lastDecidedRequest) t.add('decided out of stream order', `${itemId}: ${rid}`)
        lastDecidedRequest = Math.max(lastDecidedRequest, seq)
      }
      switch (e.type) {
        case 'ItemHeld':
          if (holder) t.add('double bookings (item history)', `${itemId}: ${rid} held while ${holder} holds`)
          holder = rid
          renting = false
          break
        case 'ItemHoldRejected':
          // Lost to a holder that asked later: the first requester lost to a later one.
          if (
            holder &&
            e.data.reason === 'NOT_RENTABLE' &&
            (requestSeq.get(rid) ?? Number.POSITIVE_INFINITY) < (requestSeq.get(holder) ?? -1)
          )
            t.add('first-come violations', `${itemId}: ${rid} asked before ${holder}`)
          break
        case 'ItemLent':
          renting = true
          break
        case 'ItemReleased':
          if (renting) t.add('item released while lent', `${itemId}: ${rid}`)
          holder = null
          renting = false
          break
        case 'ItemReturned':
          holder = null
          renting = false
          break
      }
    }
  }
}

function checkItemInfos(
  t: Tally,
  s: Snapshot,
  infos: Map<string, ItemInfoRow>,
  reservations: Map<string, ReservationRow>,
): void {
  for (const item of s.items) {
    const info = infos.get(item.id)
    if (!info) {
      t.add('ItemInfo ≠ sources', `${item.id}: no ItemInfo`)
      continue
    }
    const differs: string[] = []
    const same = (what: string, a: unknown, b: unknown) => a !== b && differs.push(`${what} ${b} vs ${a}`)
    same('name', item.name, info.itemName)
    same('price', item.price, info.itemPrice)
    same('status', item.status, info.itemStatus)
    same('rentalStatus', item.rentalStatus, info.rentalStatus)
    same('deleted', item.deleted, info.deleted)
    if (item.holdReservationId) same('reservation', item.holdReservationId, info.reservationId)
    const r = info.reservationId ? reservations.get(info.reservationId) : undefined
    if (info.reservationId && !r) differs.push(`reservation ${info.reservationId} unknown`)
    if (r) {
      same('reservationStatus', r.status, info.reservationStatus)
      same('paymentStatus', r.paymentStatus, info.paymentStatus)
    }
    if (differs.length) t.add('ItemInfo ≠ sources', `${item.id}: ${differs.join('; ')}`)
  }
  const known = new Set(s.items.map(i => i.id))
  for (const info of s.itemInfos)
    if (!known.has(info.itemId)) t.add('ItemInfo ≠ sources', `${info.itemId}: ItemInfo of no item`)
}

/**
 * Missing: an outbox row never published or not in the stream, or an event a consumer should
 * apply that it has no record of. Twice: one cause producing the same effect twice (a handler's
 * effect committed by two deliveries), or one reservation decided twice.
 */
function checkEvents(t: Tally, s: Snapshot, events: StreamEvent[]): void {
  const inStream = new Set(events.map(e => e.id))
  for (const row of s.outbox) {
    if (!row.published) t.add('events missing', `${row.db} outbox ${row.id} unpublished`)
    else if (!inStream.has(row.id)) t.add('events missing', `${row.db} outbox ${row.id} not in the stream`)
  }
  const applied = new Set(s.processed.map(p => `${p.consumer}/${p.eventId}`))
  for (const e of events) {
    if (s.processedSince && Date.parse(e.occurredAt) < s.processedSince) continue
    for (const [consumer, consumes] of Object.entries(CONSUMES)) {
      if (!consumes(e.type)) continue
      if (consumer === 'projections' && !itemIdOf(e)) continue
      if (!applied.has(`${consumer}/${e.id}`)) t.add('events missing', `${consumer} never applied ${e.type} ${e.id}`)
    }
  }
  for (const [key, list] of groupBy(
    events.filter(e => e.causationId),
    e => `${e.causationId}/${e.type}`,
  ))
    if (list.length > 1) t.add('events applied twice', `${key} ×${list.length}`)
  for (const [rid, list] of groupBy(
    events.filter(e => e.type === 'ItemHeld' || e.type === 'ItemHoldRejected'),
    reservationIdOf,
  ))
    if (list.length > 1) t.add('events applied twice', `reservation ${rid} decided ${list.length} times`)
}

/**
 * What the system said yes to must be there. Per reservation, the last accepted mutation about its
 * money or its life decides the final state, unless another accepted one overlapped it in time
 * (then either order is right and nothing is asserted).
 */
function checkAccepted(t: Tally, accepted: MutationRecord[], s: Snapshot, events: StreamEvent[]): void {
  const ok = accepted.filter(m => m.outcome === 'ok')
  const items = by(s.items, i => i.id)
  const reservations = by(s.reservations, r => r.id)
  const payments = by(s.payments, p => p.reservationId)
  const lent = lentReservations(events)
  const returned = new Set(events.filter(e => e.type === 'ItemReturned').map(e => e.aggregateId))
  const lost = (m: MutationRecord, why: string) =>
    t.add('accepted mutations lost or not reflected', `${m.op} ${m.target}: ${why}`)
  for (const m of accepted)
    if (m.outcome === 'INTERNAL_SERVER_ERROR') t.add('answered INTERNAL_SERVER_ERROR', `${m.op} ${m.target}`)
  for (const m of ok) {
    switch (m.op) {
      case 'registerItem':
        if (!items.has(m.target)) lost(m, 'no such item')
        break
      case 'deleteItem':
        if (!items.get(m.target)?.deleted) lost(m, 'not deleted')
        break
      case 'reserveItem':
        if (!reservations.has(m.target)) lost(m, 'no such reservation')
        break
      case 'payReservation':
        if (!payments.has(m.target)) lost(m, 'no charge was ever made')
        break
      case 'lendItem':
        if (!lent.has(m.target)) lost(m, 'never lent')
        break
      case 'returnItem':
        if (!returned.has(m.target)) lost(m, 'no ItemReturned')
        break
    }
  }
  const life = new Set<MutationName>(['cancelReservation', 'payReservation', 'cancelPayment'])
  // Answers that may hide an effect: no answer, or PAYMENT_UNAVAILABLE (the contract: payment may have acted).
  const ambiguous = (m: MutationRecord) =>
    life.has(m.op) && (m.outcome === 'unknown' || m.outcome === 'PAYMENT_UNAVAILABLE' || m.outcome.startsWith('HTTP'))
  const unclear = groupBy(accepted.filter(ambiguous), m => m.target)
  for (const [rid, list] of groupBy(
    ok.filter(m => life.has(m.op)),
    m => m.target,
  )) {
    const last = list.reduce((a, b) => (b.answeredAt > a.answeredAt ? b : a))
    if (list.some(m => m !== last && m.answeredAt > last.sentAt)) continue
    if (unclear.get(rid)?.some(m => m.answeredAt > last.sentAt)) continue
    const r = reservations.get(rid)
    if (!r) continue // reported above for reserveItem
    if (last.op === 'cancelReservation' && r.status !== 'CANCELLED') lost(last, `status ${r.status}`)
    if (last.op === 'payReservation' && r.paymentStatus !== 'PAID') lost(last, `paymentStatus ${r.paymentStatus}`)
    if (last.op === 'cancelPayment' && r.paymentStatus === 'PAID') lost(last, 'paymentStatus PAID')
  }
}

/** reserve → decided: from each ReservationRequested to its ReservationConfirmed/Rejected, in ms. */
export function decisionLatencies(events: StreamEvent[]): { decided: number[]; undecided: number } {
  const requested = new Map<string, number>()
  const decided = new Map<string, number>()
  for (const e of distinctEvents(events)) {
    if (e.type === 'ReservationRequested') requested.set(e.aggregateId, Date.parse(e.occurredAt))
    if ((e.type === 'ReservationConfirmed' || e.type === 'ReservationRejected') && !decided.has(e.aggregateId))
      decided.set(e.aggregateId, Date.parse(e.occurredAt))
  }
  const out: number[] = []
  let undecided = 0
  for (const [id, at] of requested) {
    const d = decided.get(id)
    if (d === undefined) undecided++
    else out.push(d - at)
  }
  return { decided: out.sort((a, b) => a - b), undecided }
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

/** The table, one row per check, each of which must be 0. */
export function formatTable(result: CheckResult, { examples = true } = {}): string {
  const width = Math.max(...result.rows.map(r => r.name.length))
  const lines = [`| ${'check'.padEnd(width)} | count |`, `|${'-'.repeat(width + 2)}|-------|`]
  for (const r of result.rows) {
    lines.push(`| ${r.name.padEnd(width)} | ${String(r.count).padStart(5)} |`)
    if (examples) for (const e of r.examples) lines.push(`|   ${e}`)
  }
  lines.push(result.ok ? 'consistent: every row is 0' : 'INCONSISTENT: some rows are not 0')
  return lines.join('\n')
}
