// The reservation's side of the saga: its handler table for item events. Each handler applies an
// event at most once (markApplied, in the same transaction) and only moves a reservation forward,
// so a redelivered or late event changes nothing. Every change bumps the version its event carries.
// ItemRegistered and ItemReleased are not in the table: a reservation learns nothing from them.
import { causedBy } from '@gdmarket/platform/events'
import { markApplied, type EventHandlers } from '@gdmarket/platform/consumer'
import type { EventSink, Transact } from '@gdmarket/platform/outbox'
import type { ItemEvent, ItemEvents, RentalStatus } from '@gdmarket/contracts/item'
import type { ReservationEvents } from '@gdmarket/contracts/reservation'
import { advanceRental, confirmsHold, rejectsHold } from './rules.js'
import { findReservation, markItemDeleted, snapshot, updateIfUnchanged, type ReservationTx } from './store.js'

export const RESERVATION_CONSUMER = 'reservation'

type Events = EventSink<ReservationEvents>

/** Events of one reservation are applied in order; item-wide events (ItemDeleted) by item. */
export function sagaKey(event: ItemEvent): string {
  const reservationId = 'reservationId' in event.data ? event.data.reservationId : undefined
  return typeof reservationId === 'string' && reservationId ? reservationId : event.aggregateId
}

/** The handler table of the reservation consumer (subject filter `item.*`). */
export function itemHandlers(transact: Transact<ReservationTx, ReservationEvents>): EventHandlers<ItemEvents> {
  // Applied at most once: the idempotency record and the change commit together.
  const once =
    <E extends ItemEvent>(handle: (event: E, tx: ReservationTx, events: Events) => Promise<void>) =>
    (event: E) =>
      transact(causedBy(event), async (tx, events) => {
        if (await markApplied(tx, RESERVATION_CONSUMER, event.id)) await handle(event, tx, events)
      })

  return {
    ItemHeld: once((event, tx, events) => onHeld(tx, events, event.data)),
    ItemHoldRejected: once((event, tx, events) => onHoldRejected(tx, events, event.data)),
    ItemLent: once((event, tx, events) => onRental(tx, events, event.data.reservationId, 'RENTING')),
    ItemReturned: once((event, tx, events) => onRental(tx, events, event.data.reservationId, 'RETURNED')),
    ItemDeleted: once(async (event, tx) => {
      await markItemDeleted(tx, event.data.item.itemId)
    }),
  }
}

/** The item is held for the reservation: it is CONFIRMED, and now knows its price and the item's owner. */
async function onHeld(tx: ReservationTx, events: Events, held: ItemEvents['ItemHeld']): Promise<void> {
  const r = await findReservation(tx, held.reservationId)
  if (!r || !confirmsHold(r)) return
  const next = await updateIfUnchanged(tx, r, {
    status: 'CONFIRMED',
    amount: held.item.price,
    ownerId: held.item.ownerId,
  })
  if (!next) throw new Error('reservation changed during the hold; retrying the event')
  await events.emit('ReservationConfirmed', next.id, next.version, {
    reservation: snapshot(next),
    amount: held.item.price,
  })
}

async function onHoldRejected(
  tx: ReservationTx,
  events: Events,
  rejected: ItemEvents['ItemHoldRejected'],
): Promise<void> {
  const r = await findReservation(tx, rejected.reservationId)
  if (!r || !rejectsHold(r)) return
  const next = await updateIfUnchanged(tx, r, { status: 'REJECTED', rejectReason: rejected.reason })
  if (!next) throw new Error('reservation changed during the rejection; retrying the event')
  await events.emit('ReservationRejected', next.id, next.version, {
    reservation: snapshot(next),
    reason: rejected.reason,
  })
}

/** The item was handed over or came back. */
async function onRental(tx: ReservationTx, events: Events, reservationId: string, heard: RentalStatus): Promise<void> {
  const r = reservationId ? await findReservation(tx, reservationId) : null
  const rentalStatus = r ? advanceRental(r.rentalStatus, heard) : null
  if (!r || !rentalStatus) return
  const next = await updateIfUnchanged(tx, r, { rentalStatus })
  if (!next) throw new Error('reservation changed during the rental change; retrying the event')
  await events.emit('ReservationRentalChanged', next.id, next.version, {
    reservation: snapshot(next),
  })
}
