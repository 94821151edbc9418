// Data access for the item database: the one module that talks to Prisma.
import { prismaAdapter } from '@gdmarket/platform/database'
import { prismaOutbox, type Kick } from '@gdmarket/platform/outbox'
import { itemEvents, type ItemSnapshot, type ItemStatus } from '@gdmarket/contracts/item'
import type { Page } from '@gdmarket/platform/paging'
import { PrismaClient, type Item, type Prisma } from '../../../generated/item/client.js'

export type ItemDb = PrismaClient
export type ItemTx = Prisma.TransactionClient
export type { Item }

export const createItemDb = (url: string, poolSize: number): ItemDb =>
  new PrismaClient({ adapter: prismaAdapter(url, poolSize) })

/** Use cases write state and events through `transact`; the relay publishes from `store`. */
export const itemOutbox = (db: ItemDb, stream: string, kick: Kick) =>
  prismaOutbox(db, {
    stream,
    catalogue: itemEvents,
    kick,
    encode: (e): Prisma.InputJsonValue => e as unknown as Prisma.InputJsonValue,
  })

export const snapshot = (item: Item): ItemSnapshot => ({
  itemId: item.id,
  name: item.name,
  price: item.price,
  ownerId: item.ownerId,
  status: item.status,
  rentalStatus: item.rentalStatus,
  deleted: item.deletedAt !== null,
})

/** A page of items not deleted, newest first (ids sort by creation); index (status, deletedAt, id) or (deletedAt, id). */
export const listItems = (db: ItemDb, status: ItemStatus | null | undefined, page: Page) =>
  db.item.findMany({
    where: { deletedAt: null, ...(status ? { status } : {}), ...(page.after ? { id: { lt: page.after } } : {}) },
    orderBy: { id: 'desc' },
    take: page.first,
  })

/** Live (not deleted) items by id, in the order asked, null where missing: the DataLoader batch. */
export async function itemsByIds(db: ItemDb, ids: readonly string[]): Promise<(Item | null)[]> {
  const rows = await db.item.findMany({ where: { id: { in: [...ids] }, deletedAt: null } })
  const byId = new Map(rows.map(r => [r.id, r]))
  return ids.map(id => byId.get(id) ?? null)
}

export const findItem = (tx: ItemTx | ItemDb, id: string) => tx.item.findUnique({ where: { id } })
export const findItemHeldBy = (tx: ItemTx | ItemDb, reservationId: string) =>
  tx.item.findFirst({ where: { holdReservationId: reservationId } })

/**
 * Applies `data` only if nobody changed the item since it was read (its version is unchanged),
 * and bumps the version; returns the new row, or null when the item moved on meanwhile.
 */
export async function updateIfUnchanged(
  tx: ItemTx,
  item: Item,
  data: Prisma.ItemUpdateManyMutationInput,
): Promise<Item | null> {
  const [next] = await tx.item.updateManyAndReturn({
    where: { id: item.id, version: item.version },
    data: { ...data, version: { increment: 1 } },
  })
  return next ?? null
}

/**
 * Records the newest version seen of a reservation; false when `version` is not newer, so an
 * older reservation event never overrides a newer one. One statement: insert, or raise the version.
 */
export async function advanceReservation(tx: ItemTx, reservationId: string, version: number): Promise<boolean> {
  const changed = await tx.$executeRaw`
    INSERT INTO "ReservationSeen" ("reservationId", "version") VALUES (${reservationId}::uuid, ${version})
    ON CONFLICT ("reservationId") DO UPDATE SET "version" = EXCLUDED."version"
    WHERE "ReservationSeen"."version" < EXCLUDED."version"`
  return changed === 1
}

/** Holds a RENTABLE item for a reservation; null when it is not (any more) rentable. */
export async function holdItem(
  tx: ItemTx,
  itemId: string,
  hold: { reservationId: string; customerId: string; customerName: string },
): Promise<Item | null> {
  // Conditional on RENTABLE: of many concurrent requests exactly one row update succeeds.
  const [held] = await tx.item.updateManyAndReturn({
    where: { id: itemId, status: 'RENTABLE', deletedAt: null, rentalStatus: { not: 'RENTING' } },
    data: {
      status: 'NOT_RENTABLE',
      holdReservationId: hold.reservationId,
      holdCustomerId: hold.customerId,
      holdCustomerName: hold.customerName,
      holdPaid: false,
      version: { increment: 1 },
    },
  })
  return held ?? null
}

/** Ends the item's hold: RENTABLE again, no reservation holding it. */
export const releaseHold = (tx: ItemTx, itemId: string): Promise<Item> =>
  tx.item.update({
    where: { id: itemId },
    data: {
      status: 'RENTABLE',
      holdReservationId: null,
      holdCustomerId: null,
      holdCustomerName: null,
      holdPaid: false,
      version: { increment: 1 },
    },
  })

/** Records whether the holding reservation is paid (lending needs it); not a change of the item, no version bump. */
export const markHoldPaid = (tx: ItemTx, itemId: string, paid: boolean) =>
  tx.item.update({ where: { id: itemId }, data: { holdPaid: paid } })

export const reservationKnown = async (db: ItemDb, reservationId: string) =>
  (await db.reservationSeen.count({ where: { reservationId } })) > 0
