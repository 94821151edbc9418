// The item use cases the owner drives: register, delete, lend, return.
import { conflict, notFound, requireId } from '@gdmarket/platform/errors'
import { requireRole, type Caller } from '@gdmarket/platform/identity'
import { newId } from '@gdmarket/platform/ids'
import type { Cause, Transact } from '@gdmarket/platform/outbox'
import type { GeoPoint, ItemEvents } from '@gdmarket/contracts/item'
import { assertDeletable, assertLendable, assertOwner, assertReturnable, validateNewItem } from './rules.js'
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
}

export interface NewItemInput {
  name: string
  price: number
  location?: GeoPoint | null
  area?: string | null
}

const changedMeanwhile = () => conflict('the item changed meanwhile; try again')

export async function registerItem(
  deps: ItemDeps,
  caller: Caller | null,
  input: NewItemInput,
  cause: Cause,
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
    return item
  })
}

async function ownedLiveItem(tx: ItemTx, caller: Caller | null, id: string): Promise<Item> {
  const owner = requireRole(caller, 'owner')
  const item = await findItem(tx, requireId(id, 'item id'))
  if (!item || item.deletedAt) throw notFound('no such item')
  assertOwner(item, owner.userId)
  return item
}

export function deleteItem(deps: ItemDeps, caller: Caller | null, id: string, cause: Cause): Promise<Item> {
  return deps.transact(cause, async (tx, events) => {
    const item = await ownedLiveItem(tx, caller, id)
    assertDeletable(item)
    const deleted = await updateIfUnchanged(tx, item, { deletedAt: new Date() })
    if (!deleted) throw changedMeanwhile()
    await events.emit('ItemDeleted', deleted.id, deleted.version, { item: snapshot(deleted) })
    return deleted
  })
}

export async function lendItem(
  deps: ItemDeps,
  caller: Caller | null,
  reservationId: string,
  cause: Cause,
): Promise<Item> {
  requireRole(caller, 'owner')
  const rid = requireId(reservationId, 'reservation id')
  return deps.transact(cause, async (tx, events) => {
    const held = await findItemHeldBy(tx, rid)
    if (!held || held.deletedAt) {
      if (await deps.reservationKnown(rid)) throw conflict('the reservation is not confirmed for an item')
      throw notFound('no such reservation')
    }
    const item = await ownedLiveItem(tx, caller, held.id)
    assertLendable(item, rid)
    const lent = await updateIfUnchanged(tx, item, { rentalStatus: 'RENTING' })
    if (!lent) throw changedMeanwhile()
    await events.emit('ItemLent', lent.id, lent.version, { item: snapshot(lent), reservationId: rid })
    return lent
  })
}

export function returnItem(deps: ItemDeps, caller: Caller | null, itemId: string, cause: Cause): Promise<Item> {
  return deps.transact(cause, async (tx, events) => {
    const item = await ownedLiveItem(tx, caller, itemId)
    assertReturnable(item)
    const reservationId = item.holdReservationId
    const returned = await updateIfUnchanged(tx, item, {
      rentalStatus: 'RETURNED',
      status: 'RENTABLE',
      holdReservationId: null,
      holdCustomerId: null,
      holdCustomerName: null,
      holdPaid: false,
    })
    if (!returned) throw changedMeanwhile()
    await events.emit('ItemReturned', returned.id, returned.version, {
      item: snapshot(returned),
      reservationId: reservationId ?? '',
    })
    return returned
  })
}
