// The reservation is the one arbiter of a rental: lending and taking back are decided here, against
// the reservation's own paid/cancelled state, under its row guard, by the same rows that payReservation,
// cancelPayment and cancelReservation guard. The item subgraph asks (lendItem, returnItem) and then
// applies the decision to the item; the decision's event brings the item there too if it crashed.
import { forbidden, notFound, requireId } from '@gdmarket/platform/errors'
import { requireRole } from '@gdmarket/platform/identity'
import { changedMeanwhile, type Asked, type ReservationDeps } from './reservations.js'
import { lendDecision, returnDecision, type RentalRequest } from './rules.js'
import { findReservation, snapshot, updateIfUnchanged, type Reservation } from './store.js'

/** The item subgraph asking on behalf of the item's owner. */
export interface RentalAsked extends Asked {
  internal: boolean
}

type Decide = (r: Reservation, asked: RentalRequest) => 'lend' | 'return' | 'already'

async function decide(
  deps: ReservationDeps,
  asked: RentalAsked,
  input: { reservationId: string; itemId: string },
  decision: Decide,
  rentalStatus: 'RENTING' | 'RETURNED',
): Promise<Reservation> {
  if (!asked.internal) throw forbidden('rentals are decided for the item subgraph only')
  const owner = requireRole(asked.caller, 'owner')
  const id = requireId(input.reservationId, 'reservation id')
  const itemId = requireId(input.itemId, 'item id')
  const r = await findReservation(deps.db, id)
  if (!r) throw notFound('no such reservation')
  if (decision(r, { itemId, ownerId: owner.userId }) === 'already') return r
  const next = await deps.transact(asked.cause, async (tx, events) => {
    const changed = await updateIfUnchanged(tx, r, { rentalStatus })
    if (!changed) return null
    await events.emit('ReservationRentalChanged', changed.id, changed.version, { reservation: snapshot(changed) })
    return changed
  })
  // Someone else changed the row since it was read (cancelPayment, a cancellation): they won.
  if (!next) throw changedMeanwhile()
  return next
}

/** lendItem's decision: CONFIRMED, PAID and no payment being settled → RENTING. */
export const decideLend = (
  deps: ReservationDeps,
  asked: RentalAsked,
  input: { reservationId: string; itemId: string },
) => decide(deps, asked, input, lendDecision, 'RENTING')

/** returnItem's decision: RENTING → RETURNED. */
export const decideReturn = (
  deps: ReservationDeps,
  asked: RentalAsked,
  input: { reservationId: string; itemId: string },
) => decide(deps, asked, input, returnDecision, 'RETURNED')
