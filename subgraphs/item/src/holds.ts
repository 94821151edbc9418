// The item's side of the reservation saga: its handler table for reservation events. Each handler
// applies an event at most once (markApplied) and never lets an older reservation event override a
// newer. Confirmed, rejected and rental changes are not in the table: the item learns nothing from them.
import { causedBy } from '@gdmarket/platform/events'
import { markApplied, type EventHandlers } from '@gdmarket/platform/consumer'
import type { EventSink, Transact } from '@gdmarket/platform/outbox'
import type { ItemEvents } from '@gdmarket/contracts/item'
import type { ReservationEvent, ReservationEvents } from '@gdmarket/contracts/reservation'
import { holdRefusal } from './rules.js'
import {
  advanceReservation,
  findItem,
  holdItem,
  markHoldPaid,
  releaseHold,
  snapshot,
  type Item,
  type ItemTx,
} from './store.js'

export const ITEM_CONSUMER = 'item'

/** What a handler works on: the transaction, its event sink, and the item as it is now. */
interface HoldStep {
  tx: ItemTx
  events: EventSink<ItemEvents>
  item: Item | null
  /** Whether this reservation is the one holding the item. */
  holds: boolean
}

/** The handler table of the item consumer (subject filter `reservation.*`). */
export function reservationHandlers(transact: Transact<ItemTx, ItemEvents>): EventHandlers<ReservationEvents> {
  // One step in common: applied once, only if newer than what was seen of the reservation, with the item read.
  const step =
    <E extends ReservationEvent>(handle: (event: E, on: HoldStep) => Promise<void>) =>
    (event: E) =>
      transact(causedBy(event), async (tx, events) => {
        const { reservation } = event.data
        if (!(await markApplied(tx, ITEM_CONSUMER, event.id))) return
        if (!(await advanceReservation(tx, reservation.reservationId, event.aggregateVersion))) return
        const item = await findItem(tx, reservation.itemId)
        await handle(event, { tx, events, item, holds: item?.holdReservationId === reservation.reservationId })
      })

  return {
    ReservationRequested: step(async ({ data: { reservation } }, { tx, events, item }) => {
      const held = holdRefusal(item) ? null : await holdItem(tx, reservation.itemId, reservation)
      if (!held) {
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
    ReservationCancelled: step(async ({ data: { reservation } }, { tx, events, item, holds }) => {
      if (!item || !holds || item.rentalStatus === 'RENTING') return
      const released = await releaseHold(tx, item.id)
      await events.emit('ItemReleased', released.id, released.version, {
        item: snapshot(released),
        reservationId: reservation.reservationId,
      })
    }),
    ReservationPaid: step(followPayment),
    ReservationPaymentCancelled: step(followPayment),
  }
}

/** Every reservation event carries its payment status; lendItem checks the last one heard. */
async function followPayment(event: ReservationEvent, { tx, item, holds }: HoldStep): Promise<void> {
  const paid = event.data.reservation.paymentStatus === 'PAID'
  if (item && holds && item.holdPaid !== paid) await markHoldPaid(tx, item.id, paid)
}
