// The reservation's side of the saga: reacting to item events. Each handler applies an event at
// most once (markApplied, in the same transaction) and only moves a reservation forward, so a
// redelivered or late event changes nothing. Every change bumps the version its event carries.
import type { EventEnvelope } from '@gdmarket/platform/events'
import { causedBy } from '@gdmarket/platform/events'
import { markApplied } from '@gdmarket/platform/consumer'
import type { ItemEvents, RentalStatus, ReservationEvents } from '@gdmarket/platform/catalogue'
import type { EventSink, Transact } from '@gdmarket/platform/outbox'
import { advanceRental, confirmsHold, rejectsHold } from './rules.js'
import { findReservation, markItemDeleted, snapshot, updateIfUnchanged, type ReservationTx } from './store.js'

export const RESERVATION_CONSUMER = 'reservation'

type ItemEvent = EventEnvelope<ItemEvents[keyof ItemEvents]>

/** Events of one reservation are applied in order; item-wide events (ItemDeleted) by item. */
export function sagaKey(event: EventEnvelope): string {
  const reservationId = (event.data as { reservationId?: unknown }).reservationId
  return typeof reservationId === 'string' && reservationId ? reservationId : event.aggregateId
}

export async function applyItemEvent(transact: Transact<ReservationTx>, event: ItemEvent): Promise<void> {
  if (!HANDLED.has(event.type)) return // ItemRegistered, ItemReleased: nothing for a reservation to learn
  await transact(causedBy(event), async (tx, events) => {
    if (!(await markApplied(tx, RESERVATION_CONSUMER, event.id))) return
    switch (event.type) {
      case 'ItemHeld':
        return onHeld(tx, events, event.data as ItemEvents['ItemHeld'])
      case 'ItemHoldRejected':
        return onHoldRejected(tx, events, event.data as ItemEvents['ItemHoldRejected'])
      case 'ItemLent':
        return onRental(tx, events, (event.data as ItemEvents['ItemLent']).reservationId, 'RENTING')
      case 'ItemReturned':
        return onRental(tx, events, (event.data as ItemEvents['ItemReturned']).reservationId, 'RETURNED')
      case 'ItemDeleted':
        await markItemDeleted(tx, (event.data as ItemEvents['ItemDeleted']).item.itemId)
        return
    }
  })
}

const HANDLED = new Set(['ItemHeld', 'ItemHoldRejected', 'ItemLent', 'ItemReturned', 'ItemDeleted'])

/** The item is held for the reservation: it is CONFIRMED, and now knows its price and the item's owner. */
async function onHeld(tx: ReservationTx, events: EventSink, held: ItemEvents['ItemHeld']): Promise<void> {
  const r = await findReservation(tx, held.reservationId)
  if (!r || !confirmsHold(r)) return
  const next = await updateIfUnchanged(tx, r, {
    status: 'CONFIRMED',
    amount: held.item.price,
    ownerId: held.item.ownerId,
  })
  if (!next) throw new Error('reservation changed during the hold; retrying the event')
  await events.emit<ReservationEvents['ReservationConfirmed']>('ReservationConfirmed', next.id, next.version, {
    reservation: snapshot(next),
    amount: held.item.price,
  })
}

async function onHoldRejected(
  tx: ReservationTx,
  events: EventSink,
  rejected: ItemEvents['ItemHoldRejected'],
): Promise<void> {
  const r = await findReservation(tx, rejected.reservationId)
  if (!r || !rejectsHold(r)) return
  const next = await updateIfUnchanged(tx, r, { status: 'REJECTED', rejectReason: rejected.reason })
  if (!next) throw new Error('reservation changed during the rejection; retrying the event')
  await events.emit<ReservationEvents['ReservationRejected']>('ReservationRejected', next.id, next.version, {
    reservation: snapshot(next),
    reason: rejected.reason,
  })
}

/** The item was handed over or came back. */
async function onRental(
  tx: ReservationTx,
  events: EventSink,
  reservationId: string,
  heard: RentalStatus,
): Promise<void> {
  const r = reservationId ? await findReservation(tx, reservationId) : null
  const rentalStatus = r ? advanceRental(r.rentalStatus, heard) : null
  if (!r || !rentalStatus) return
  const next = await updateIfUnchanged(tx, r, { rentalStatus })
  if (!next) throw new Error('reservation changed during the rental change; retrying the event')
  await events.emit<ReservationEvents['ReservationRentalChanged']>('ReservationRentalChanged', next.id, next.version, {
    reservation: snapshot(next),
  })
}
