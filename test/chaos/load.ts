// The chaos load: owners and renters looping real rentals through the router, with races on
// purpose (many renters on a few hot items, lendItem against cancelPayment, lendItem against
// cancelReservation, two cancelReservation at once). Every mutation and its answer is recorded, so
// the checker can tell whether what the system said yes to is there at the end.
import { randomUUID } from 'node:crypto'
import { sleep, token } from '../harness.js'
import type { MutationName, MutationRecord } from './checker.js'

/** A small seeded generator (mulberry32): the same seed draws the same load and fault schedule. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface LoadOptions {
  routerUrl: string
  owners: number
  renters: number
  itemsPerOwner: number
  /** How many items most renters aim at (the races). */
  hotItems: number
  durationMs: number
  random: () => number
  /** Per request; no answer within it is an unknown outcome. */
  requestTimeoutMs?: number
  /** How long a renter waits for a reservation to be decided before moving on. */
  decideTimeoutMs?: number
  /** Sent as the Idempotency-Key header, so a retry of an unanswered mutation learns its outcome. */
  idempotencyKeys?: boolean
}

export interface LoadResult {
  mutations: MutationRecord[]
  /** Answers per outcome ('ok', a contract code, 'unknown'), per mutation. */
  outcomes: Record<string, Record<string, number>>
  items: string[]
  rounds: number
}

interface Actor {
  id: string
  token: string
}

const RESERVATION = '{ id status paymentStatus rentalStatus }'
const MUTATIONS: Record<MutationName, string> = {
  registerItem: `mutation($n: String!, $p: Int!) { registerItem(input: { name: $n, price: $p }) { id } }`,
  deleteItem: 'mutation($id: ID!) { deleteItem(id: $id) { id } }',
  reserveItem: `mutation($id: ID!) { reserveItem(itemId: $id) ${RESERVATION} }`,
  cancelReservation: `mutation($id: ID!) { cancelReservation(id: $id) ${RESERVATION} }`,
  payReservation: `mutation($id: ID!) { payReservation(id: $id) ${RESERVATION} }`,
  cancelPayment: `mutation($id: ID!) { cancelPayment(id: $id) ${RESERVATION} }`,
  lendItem: 'mutation($id: ID!) { lendItem(reservationId: $id) { id rentalStatus } }',
  returnItem: 'mutation($id: ID!) { returnItem(itemId: $id) { id rentalStatus } }',
}

/** Answers after which the same request may well succeed later. */
const RETRYABLE = new Set(['unknown', 'SERVICE_UNAVAILABLE', 'PAYMENT_UNAVAILABLE', 'INTERNAL_SERVER_ERROR'])

interface Answer {
  outcome: string
  data?: Record<string, { id: string; status?: string; paymentStatus?: string; rentalStatus?: string }>
}

export class ChaosLoad {
  readonly mutations: MutationRecord[] = []
  private readonly timeoutMs: number
  private stopAt = 0

  constructor(private readonly o: LoadOptions) {
    this.timeoutMs = o.requestTimeoutMs ?? 10_000
  }

  private async post(query: string, variables: Record<string, unknown>, as: Actor, key?: string): Promise<Answer> {
    try {
      const res = await fetch(this.o.routerUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${as.token}`,
          ...(key ? { 'idempotency-key': key } : {}),
        },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(this.timeoutMs),
      })
      const body = (await res.json().catch(() => ({}))) as {
        data?: Answer['data'] | null
        errors?: { extensions?: { code?: string } }[]
      }
      if (body.errors?.length) return { outcome: body.errors[0].extensions?.code ?? `HTTP ${res.status}` }
      if (!res.ok || !body.data) return { outcome: `HTTP ${res.status}` }
      return { outcome: 'ok', data: body.data }
    } catch {
      return { outcome: 'unknown' }
    }
  }

  /** Sends one mutation and records it; an unanswered one is retried once with the same key when keys are on. */
  async mutate(
    op: MutationName,
    as: Actor,
    variables: Record<string, unknown>,
    target: string | null,
    itemId?: string,
  ): Promise<Answer> {
    const key = this.o.idempotencyKeys ? randomUUID() : undefined
    const sentAt = Date.now()
    let answer = await this.post(MUTATIONS[op], variables, as, key)
    if (answer.outcome === 'unknown' && key) answer = await this.post(MUTATIONS[op], variables, as, key)
    const id = answer.data?.[op]?.id
    this.mutations.push({
      op,
      target: target ?? id ?? '',
      itemId,
      sentAt,
      answeredAt: Date.now(),
      outcome: answer.outcome,
    })
    return answer
  }

  /** For the moves that free an item: retried while the answer is unknown or the system is unavailable. */
  private async persist(
    op: MutationName,
    as: Actor,
    variables: Record<string, unknown>,
    target: string,
    itemId: string,
  ): Promise<Answer> {
    let a: Answer = { outcome: 'unknown' }
    for (let attempt = 0; attempt < 8 && Date.now() < this.stopAt + 30_000; attempt++) {
      a = await this.mutate(op, as, variables, target, itemId)
      if (!RETRYABLE.has(a.outcome) && !a.outcome.startsWith('HTTP')) return a
      await sleep(500 * (attempt + 1))
    }
    return a
  }

  private async reservation(id: string, as: Actor) {
    const a = await this.post(`query($id: ID!) { reservation(id: $id) ${RESERVATION} }`, { id }, as)
    return a.data?.reservation
  }

  private pick<T>(list: T[]): T {
    return list[Math.floor(this.o.random() * list.length)]
  }

  private owners = new Map<string, Actor>()
  private renters: Actor[] = []

  /** Owners register their items (retried until each is there): the load proper starts after. */
  async prepare(): Promise<void> {
    const { o } = this
    const owners: Actor[] = await Promise.all(
      Array.from({ length: o.owners }, async (_, i) => ({
        id: `chaos-owner-${i}`,
        token: await token(`chaos-owner-${i}`, `Owner ${i}`, ['owner']),
      })),
    )
    this.renters = await Promise.all(
      Array.from({ length: o.renters }, async (_, i) => ({
        id: `chaos-renter-${i}`,
        token: await token(`chaos-renter-${i}`, `Renter ${i}`, ['renter']),
      })),
    )
    const ownerOf = new Map<string, Actor>()
    for (const owner of owners)
      for (let i = 0; i < o.itemsPerOwner; i++) {
        for (let attempt = 0; attempt < 20; attempt++) {
          const a = await this.mutate(
            'registerItem',
            owner,
            { n: `${owner.id} thing ${i}`, p: 10 + Math.floor(o.random() * 90) },
            null,
          )
          const id = a.data?.registerItem?.id
          if (id) {
            ownerOf.set(id, owner)
            break
          }
          await sleep(250)
        }
      }
    this.owners = ownerOf
    if (!ownerOf.size) throw new Error('the load could not register a single item')
  }

  async run(): Promise<LoadResult> {
    const { o, owners: ownerOf } = this
    const items = [...ownerOf.keys()]
    const hot = items.slice(0, Math.max(1, Math.min(o.hotItems, items.length)))
    this.stopAt = Date.now() + o.durationMs
    let rounds = 0
    await Promise.all(
      this.renters.map(async renter => {
        while (Date.now() < this.stopAt) {
          const itemId = o.random() < 0.7 ? this.pick(hot) : this.pick(items)
          await this.round(renter, ownerOf.get(itemId)!, itemId)
          rounds++
        }
      }),
    )
    const outcomes: LoadResult['outcomes'] = {}
    for (const m of this.mutations) {
      outcomes[m.op] ??= {}
      outcomes[m.op][m.outcome] = (outcomes[m.op][m.outcome] ?? 0) + 1
    }
    return { mutations: this.mutations, outcomes, items, rounds }
  }

  /** One rental attempt, ended so the item is free again (cancelled or returned) whenever it can be. */
  private async round(renter: Actor, owner: Actor, itemId: string): Promise<void> {
    const reserved = await this.mutate('reserveItem', renter, { id: itemId }, null, itemId)
    const id = reserved.data?.reserveItem?.id
    if (!id) {
      await sleep(200)
      return
    }
    let r = reserved.data!.reserveItem
    const deadline = Date.now() + (this.o.decideTimeoutMs ?? 15_000)
    while (r?.status !== 'CONFIRMED' && r?.status !== 'REJECTED' && Date.now() < deadline) {
      await sleep(100)
      r = (await this.reservation(id, renter)) ?? r
    }
    if (r?.status !== 'CONFIRMED') {
      // Not decided in time (an outage): give it up; the checker sees what became of it.
      if (r?.status === 'PENDING') await this.persist('cancelReservation', renter, { id }, id, itemId)
      return
    }
    const roll = this.o.random()
    if (roll < 0.1) {
      // Two cancellations at once: one wins, the other is refused or answers the same.
      await Promise.all([
        this.mutate('cancelReservation', renter, { id }, id, itemId),
        this.mutate('cancelReservation', renter, { id }, id, itemId),
      ])
      return
    }
    const paid = await this.mutate('payReservation', renter, { id }, id, itemId)
    if (paid.outcome !== 'ok') {
      await this.persist('cancelReservation', renter, { id }, id, itemId)
      return
    }
    let lent: Answer
    if (roll < 0.45) {
      // The owner lends while the renter takes the payment back.
      const [l, c] = await Promise.all([
        this.mutate('lendItem', owner, { id }, id, itemId),
        this.mutate('cancelPayment', renter, { id }, id, itemId),
      ])
      lent = l
      if (c.outcome === 'ok') await this.persist('cancelReservation', renter, { id }, id, itemId)
    } else if (roll < 0.7) {
      // The owner lends while the renter cancels the whole reservation.
      const [l] = await Promise.all([
        this.mutate('lendItem', owner, { id }, id, itemId),
        this.mutate('cancelReservation', renter, { id }, id, itemId),
      ])
      lent = l
    } else {
      lent = await this.mutate('lendItem', owner, { id }, id, itemId)
    }
    if (lent.outcome !== 'ok') {
      // Not lent (refused, or unknown): free the item if it is still held for us.
      const now = await this.reservation(id, renter)
      if (now?.rentalStatus === 'RENTING') await this.persist('returnItem', owner, { id: itemId }, itemId, itemId)
      else if (now?.status === 'CONFIRMED') await this.persist('cancelReservation', renter, { id }, id, itemId)
      return
    }
    await sleep(50 + this.o.random() * 200)
    await this.persist('returnItem', owner, { id: itemId }, itemId, itemId)
  }
}
