// The reservation's side of the saga: its handler table for item events. Each handler applies an
// event at most once (markApplied, in the same transaction) and only moves a reservation forward,
// so a redelivered or late event changes nothing. Every change bumps the version its event carries.
// ItemRegistered and ItemReleased are not in the table: a reservation learns nothing from them; nor
// ItemLent and ItemReturned: they follow the reservation's own decision (renting.ts).
import { markApplied } from '@gdmarket/platform/consumer'
import { causedBy } from '@gdmarket/platform/events'
import type { EventSink, Transact } from '@gdmarket/platform/outbox'
import { transactionalHandlers } from '@gdmarket/platform/transactional'
import type { ItemEvent, ItemEvents } from '@gdmarket/contracts/item'
import type { ReservationEvents } from '@gdmarket/contracts/reservation'
import { HOLD_DECIDES, rejectsHold } from './rules.js'
import {
  confirmHolds,
  findReservation,
  markItemDeleted,
  snapshot,
  updateIfUnchanged,
  type ReservationTx,
} from './store.js'

export const RESERVATION_CONSUMER = 'reservation'

type Events = EventSink<ReservationEvents>

/** Events of one reservation are applied in order; item-wide events (ItemDeleted) by item. */
export function sagaKey(event: ItemEvent): string {
  const reservationId = 'reservationId' in event.data ? event.data.reservationId : undefined
  return typeof reservationId === 'string' && reservationId ? reservationId : event.aggregateId
}

/**
 * The handler table of the reservation consumer (subject filter `item.*`), and the same handlers
 * applying several events in one transaction.
 */
export function itemHandlers(transact: Transact<ReservationTx, ReservationEvents>) {
  // Applied at most once: the idempotency record and the change commit together.
  const once =
    <E extends ItemEvent>(handle: (event: E, tx: ReservationTx, events: Events) => Promise<void>) =>
    async (event: E, tx: ReservationTx, events: Events) => {
      if (await markApplied(tx, RESERVATION_CONSUMER, event.id)) await handle(event, tx, events)
    }

  return transactionalHandlers<ItemEvents, ReservationTx, ReservationEvents>(transact, {
    // The item is held for the reservation: it is CONFIRMED, and now knows its price and the item's
    // owner. The idempotency records, the PENDING guard, the changes and their events are one
    // statement (confirmHolds) for any number of holds: no transaction.
    ItemHeld: {
      statement: async (held, db, events) => {
        const holds = held.map(event => ({
          eventId: event.id,
          cause: causedBy(event),
          reservationId: event.data.reservationId,
          amount: event.data.item.price,
          ownerId: event.data.item.ownerId,
        }))
        await confirmHolds(db, RESERVATION_CONSUMER, HOLD_DECIDES, holds, events)
        return new Set(held.map(e => e.id)) // confirmed, or nothing to do
      },
    },
    ItemHoldRejected: once((event, tx, events) => onHoldRejected(tx, events, event.data)),
    ItemDeleted: once(async (event, tx) => {
      await markItemDeleted(tx, event.data.item.itemId)
    }),
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
