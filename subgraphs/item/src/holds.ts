// The item's side of the reservation saga: reacting to reservation events. Each handler applies
// an event at most once (markApplied) and never lets an older reservation event override a newer.
import type { EventEnvelope } from '@gdmarket/platform/events'
import { causedBy } from '@gdmarket/platform/events'
import { markApplied } from '@gdmarket/platform/consumer'
import type { ReservationEvents } from '@gdmarket/platform/catalogue'
import type { Transact } from '@gdmarket/platform/outbox'
import { holdRefusal } from './rules.js'
import { advanceReservation, findItem, holdItem, snapshot, type ItemTx } from './store.js'

export const ITEM_CONSUMER = 'item'

type ReservationEvent = EventEnvelope<ReservationEvents[keyof ReservationEvents]>

/** What the item acts on; the rest (confirmed, rejected, rental changes) it has nothing to learn from. */
const HANDLED = new Set([
  'ReservationRequested',
  'ReservationCancelled',
  'ReservationPaid',
  'ReservationPaymentCancelled',
])

export async function applyReservationEvent(transact: Transact<ItemTx>, event: ReservationEvent): Promise<void> {
  if (!HANDLED.has(event.type)) return
  const { reservation } = event.data
  await transact(causedBy(event), async (tx, events) => {
    if (!(await markApplied(tx, ITEM_CONSUMER, event.id))) return
    if (!(await advanceReservation(tx, reservation.reservationId, event.aggregateVersion))) return
    const item = await findItem(tx, reservation.itemId)
    const holds = item?.holdReservationId === reservation.reservationId

    switch (event.type) {
      case 'ReservationRequested': {
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
        return
      }
      case 'ReservationCancelled': {
        if (!item || !holds || item.rentalStatus === 'RENTING') return
        const released = await tx.item.update({
          where: { id: item.id },
          data: {
            status: 'RENTABLE',
            holdReservationId: null,
            holdCustomerId: null,
            holdCustomerName: null,
            holdPaid: false,
            version: { increment: 1 },
          },
        })
        await events.emit('ItemReleased', released.id, released.version, {
          item: snapshot(released),
          reservationId: reservation.reservationId,
        })
        return
      }
      default: {
        // Every reservation event carries its payment status; lendItem checks the last one heard.
        const paid = reservation.paymentStatus === 'PAID'
        if (item && holds && item.holdPaid !== paid)
          await tx.item.update({ where: { id: item.id }, data: { holdPaid: paid } })
        return
      }
    }
  })
}
