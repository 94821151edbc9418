// Applying to the item what the reservation, the arbiter of a rental, decided: the lend or the
// return of the reservation that holds the item. Both lendItem/returnItem (right after the decision)
// and the item's consumer (on the decision's ReservationRentalChanged, e.g. after a crash in
// between) call these; whoever comes second finds it applied and changes nothing.
import type { EventSink } from '@gdmarket/platform/outbox'
import type { ItemEvents } from '@gdmarket/contracts/item'
import { findItem, lendToHolder, snapshot, takeBack, type Item, type ItemTx } from './store.js'

/** The item changed between reading and writing it (its version guard failed): apply again. */
export class ItemMoved extends Error {
  override name = 'ItemMoved'
  constructor(itemId: string) {
    super(`item ${itemId} changed meanwhile; applying again`)
  }
}

/** Lends the item to `reservationId`; the item as it is when it is not (any more) held by it. */
export async function applyLend(
  tx: ItemTx,
  events: EventSink<ItemEvents>,
  itemId: string,
  reservationId: string,
): Promise<Item | null> {
  const item = await findItem(tx, itemId)
  if (!item || item.holdReservationId !== reservationId || item.rentalStatus === 'RENTING') return item
  const lent = await lendToHolder(tx, item)
  if (!lent) throw new ItemMoved(itemId)
  await events.emit('ItemLent', lent.id, lent.version, { item: snapshot(lent), reservationId })
  return lent
}

/** Takes the item back from `reservationId` (null: an item lent before holds were recorded). */
export async function applyReturn(
  tx: ItemTx,
  events: EventSink<ItemEvents>,
  itemId: string,
  reservationId: string | null,
): Promise<Item | null> {
  const item = await findItem(tx, itemId)
  if (item?.rentalStatus !== 'RENTING' || item.holdReservationId !== reservationId) return item
  const back = await takeBack(tx, item)
  if (!back) throw new ItemMoved(itemId)
  await events.emit('ItemReturned', back.id, back.version, { item: snapshot(back), reservationId: reservationId ?? '' })
  return back
}
