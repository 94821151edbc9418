// The item's side of the reservation saga: its handler table for reservation events. Each handler
// applies an event at most once (markApplied) and never lets an older reservation event override a
// newer. The item holds on requests, releases on cancellations, and applies the reservation's rental
// decisions (lend, return) here too, in case lendItem/returnItem stopped after deciding. Confirmed,
// rejected and payment changes are not in the table: the reservation decides lending against them.
import { causedBy } from '@gdmarket/platform/events'
import type { EventSink, Transact } from '@gdmarket/platform/outbox'
import { transactionalHandlers } from '@gdmarket/platform/transactional'
import type { ItemEvents } from '@gdmarket/contracts/item'
import type { ReservationEvent, ReservationEvents } from '@gdmarket/contracts/reservation'
import { holdRefusal } from './rules.js'
import { applyLend, applyReturn, ItemMoved } from './rentals.js'
import {
  applyReservationEvent,
  findItem,
  holdForRequests,
  holdItem,
  releaseHold,
  snapshot,
  type Item,
  type ItemTx,
} from './store.js'

export const ITEM_CONSUMER = 'item'

/** What a handler works on: the transaction and its event sink. */
interface Applying {
  tx: ItemTx
  events: EventSink<ItemEvents>
}

/** …and the item as it is now. */
interface HoldStep extends Applying {
  item: Item | null
  /** Whether this reservation is the one holding the item. */
  holds: boolean
}

/**
 * The handler table of the item consumer (subject filter `reservation.*`), and the same handlers
 * applying several events in one transaction.
 */
export function reservationHandlers(transact: Transact<ItemTx, ItemEvents>) {
  // In common: applied once, only if newer than what was seen of the reservation.
  const once =
    <E extends ReservationEvent>(handle: (event: E, on: Applying) => Promise<void>) =>
    async (event: E, tx: ItemTx, events: EventSink<ItemEvents>) => {
      const { reservation } = event.data
      if (
        !(await applyReservationEvent(tx, ITEM_CONSUMER, event.id, reservation.reservationId, event.aggregateVersion))
      )
        return
      await handle(event, { tx, events })
    }
  // …with the item read.
  const step = <E extends ReservationEvent>(handle: (event: E, on: HoldStep) => Promise<void>) =>
    once<E>(async (event, { tx, events }) => {
      const { reservation } = event.data
      const item = await findItem(tx, reservation.itemId)
      await handle(event, { tx, events, item, holds: item?.holdReservationId === reservation.reservationId })
    })

  return transactionalHandlers<ReservationEvents, ItemTx, ItemEvents>(transact, {
    // The common case, the request winning the hold, is one statement (holdForRequests: the holds,
    // the idempotency records, the versions seen and ItemHeld) for any number of requests, with no
    // transaction. Otherwise the hold is tried again in a transaction (conditional on the item being
    // rentable, so of racing requests one wins), and the item is read only to say why when it was refused.
    ReservationRequested: {
      statement: (requests, db, events) =>
        holdForRequests(
          db,
          ITEM_CONSUMER,
          requests.map(event => ({
            ...event.data.reservation,
            eventId: event.id,
            cause: causedBy(event),
            version: event.aggregateVersion,
          })),
          events,
        ),
      otherwise: once(async ({ data: { reservation } }, { tx, events }) => {
        const held = await holdItem(tx, reservation.itemId, reservation)
        if (!held) {
          const item = await findItem(tx, reservation.itemId)
          await events.emit('ItemHoldRejected', reservation.itemId, item?.version ?? 0, {
            itemId: reservation.itemId,
            reservationId: reservation.reservationId,
            reason: holdRefusal(item) ?? 'NOT_RENTABLE',
          })
          return
        }
        await events.emit('ItemHeld', held.id, held.version, {
          item: snapshot(held),
          reservationId: reservation.reservationId,
          customerId: reservation.customerId,
          customerName: reservation.customerName,
        })
      }),
    },
    ReservationCancelled: step(async ({ data: { reservation } }, { tx, events, item, holds }) => {
      if (!item || !holds || item.rentalStatus === 'RENTING') return
      // Guarded by the version read: a lend or a new hold committed meanwhile makes the event retry.
      const released = await releaseHold(tx, item)
      if (!released) throw new ItemMoved(item.id)
      await events.emit('ItemReleased', released.id, released.version, {
        item: snapshot(released),
        reservationId: reservation.reservationId,
      })
    }),
    ReservationRentalChanged: step(async ({ data: { reservation } }, { tx, events }) => {
      if (reservation.rentalStatus === 'RENTING')
        await applyLend(tx, events, reservation.itemId, reservation.reservationId)
      if (reservation.rentalStatus === 'RETURNED')
        await applyReturn(tx, events, reservation.itemId, reservation.reservationId)
    }),
  })
}
