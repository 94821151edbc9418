// Who may see which part of an ItemInfo (contract, 2026-12): the reservation behind an item (its
// id, the customer and the payment) is shown only to the item's owner and to that reservation's
// customer; everyone else, anonymous callers included, gets null. The projections subgraph applies
// it to queries and the router to subscription events, so both answer the same.

import type { Caller } from './identity.js'

/** The ItemInfo fields only the owner and the current reservation's customer see. */
export const PRIVATE_ITEM_INFO_FIELDS = ['reservationId', 'customerId', 'customerName', 'paymentStatus'] as const

export interface ItemInfoParties {
  ownerId?: unknown
  customerId?: unknown
}

/** Whether the caller with this id (null: anonymous) may see this state's private fields. */
export function maySeePrivate(info: ItemInfoParties, userId: Caller['userId'] | null): boolean {
  if (!userId) return false
  return info.ownerId === userId || (info.customerId != null && info.customerId === userId)
}

/** The same ItemInfo with its private fields null: what everyone but its two parties sees. */
export function withoutPrivate<T extends object>(info: T): T {
  const shown: Record<string, unknown> = { ...(info as Record<string, unknown>) }
  for (const field of PRIVATE_ITEM_INFO_FIELDS) if (field in shown) shown[field] = null
  return shown as T
}
