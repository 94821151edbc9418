// The item use cases the owner drives: register, delete, lend, return.
import { conflict, notFound, requireId } from '@gdmarket/platform/errors'
import { requireRole, type Caller } from '@gdmarket/platform/identity'
import { newId } from '@gdmarket/platform/ids'
import type { Cause, EventSink, Transact } from '@gdmarket/platform/outbox'
import type { GeoPoint, ItemEvents } from '@gdmarket/contracts/item'
import type { Answer, Idempotency } from '@gdmarket/platform/idempotency'
import type { RentalArbiter } from './arbiter.js'
import { assertDeletable, assertLendable, assertOwner, assertReturnable, validateNewItem } from './rules.js'
import { applyLend, applyReturn, ItemMoved } from './rentals.js'
import {
  createItem,
  findItem,
  findItemHeldBy,
  locationColumns,
  snapshot,
  updateIfUnchanged,
  type Item,
  type ItemDb,
  type ItemTx,
} from './store.js'

export interface ItemDeps {
  db: ItemDb
  transact: Transact<ItemTx, ItemEvents>
  /** PRICE_MAX: the highest price an item may have (at most what payment approves). */
  priceMax: number
  /** Whether a reservation id was ever seen in the reservation events. */
  reservationKnown: (reservationId: string) => Promise<boolean>
  /** The reservation subgraph, which decides lends and returns. */
  arbiter: RentalArbiter
  idempotency: Idempotency<ItemTx>
}

export interface NewItemInput {
  name: string
  price: number
  location?: GeoPoint | null
  area?: string | null
}

/** Records the answer of a mutation sent with an Idempotency-Key, in the transaction that commits it. */
export type ItemAnswer = Answer<ItemTx, Item>

const changedMeanwhile = () => conflict('the item changed meanwhile; try again')

export async function registerItem(
  deps: ItemDeps,
  caller: Caller | null,
  input: NewItemInput,
  cause: Cause,
  answer?: ItemAnswer,
): Promise<Item> {
  const owner = requireRole(caller, 'owner')
  const { name, price, location, area } = validateNewItem(input, deps.priceMax)
  return deps.transact(cause, async (tx, events) => {
    const item = await createItem(tx, {
      id: newId(),
      name,
      price,
      ownerId: owner.userId,
      area,
      ...locationColumns(location),
    })
    await events.emit('ItemRegistered', item.id, item.version, { item: snapshot(item) })
    await answer?.(tx, item)
    return item
  })
}

async function ownedLiveItem(tx: ItemTx | ItemDb, caller: Caller | null, id: string): Promise<Item> {
  const owner = requireRole(caller, 'owner')
  const item = await findItem(tx, requireId(id, 'item id'))
  if (!item || item.deletedAt) throw notFound('no such item')
  assertOwner(item, owner.userId)
  return item
}

export function deleteItem(
  deps: ItemDeps,
  caller: Caller | null,
  id: string,
  cause: Cause,
  answer?: ItemAnswer,
): Promise<Item> {
  return deps.transact(cause, async (tx, events) => {
    const item = await ownedLiveItem(tx, caller, id)
    assertDeletable(item)
    const deleted = await updateIfUnchanged(tx, item, { deletedAt: new Date() })
    if (!deleted) throw changedMeanwhile()
    await events.emit('ItemDeleted', deleted.id, deleted.version, { item: snapshot(deleted) })
    await answer?.(tx, deleted)
    return deleted
  })
}

/** Applies a decision to the item, again when a concurrent writer moved it (a few times). */
async function applied(
  deps: ItemDeps,
  cause: Cause,
  apply: (tx: ItemTx, events: EventSink<ItemEvents>) => Promise<Item | null>,
  answer: ItemAnswer | undefined,
): Promise<Item> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await deps.transact(cause, async (tx, events) => {
        const item = await apply(tx, events)
        if (!item) throw notFound('no such item')
        await answer?.(tx, item)
        return item
      })
    } catch (e) {
      if (!(e instanceof ItemMoved) || attempt >= APPLY_ATTEMPTS) throw e
    }
  }
}
const APPLY_ATTEMPTS = 5

/**
 * Lends the item to the reservation that holds it. The reservation decides (CONFIRMED, PAID, no
 * refund under way, serialized with cancelPayment and cancelReservation on its row); the item then
 * applies the decision and answers it.
 */
export async function lendItem(
  deps: ItemDeps,
  caller: Caller | null,
  reservationId: string,
  cause: Cause,
  answer?: ItemAnswer,
): Promise<Item> {
  const owner = requireRole(caller, 'owner')
  const rid = requireId(reservationId, 'reservation id')
  const held = await findItemHeldBy(deps.db, rid)
  if (!held || held.deletedAt) {
    if (await deps.reservationKnown(rid)) throw conflict('the reservation is not confirmed for an item')
    throw notFound('no such reservation')
  }
  assertOwner(held, owner.userId)
  assertLendable(held, rid)
  await deps.arbiter.decideLend({ reservationId: rid, itemId: held.id, owner, correlationId: cause.correlationId })
  return applied(deps, cause, (tx, events) => applyLend(tx, events, held.id, rid), answer)
}

/** Takes the item back: the reservation it is lent to decides RETURNED, then the item is RENTABLE again. */
export async function returnItem(
  deps: ItemDeps,
  caller: Caller | null,
  itemId: string,
  cause: Cause,
  answer?: ItemAnswer,
): Promise<Item> {
  const owner = requireRole(caller, 'owner')
  const item = await ownedLiveItem(deps.db, caller, itemId)
  assertReturnable(item)
  const rid = item.holdReservationId
  if (rid)
    await deps.arbiter.decideReturn({ reservationId: rid, itemId: item.id, owner, correlationId: cause.correlationId })
  return applied(deps, cause, (tx, events) => applyReturn(tx, events, item.id, rid), answer)
}
