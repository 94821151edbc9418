// Integration-test helpers for the reservation subgraph: the router's headers, item events
// published into the stack's stream as the item subgraph would, and the reservation's database row.
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import type { Caller } from '@gdmarket/platform/identity'
import type { ItemEvents, ItemSnapshot } from '@gdmarket/contracts/item'
import { gql, type Stack } from '../../../test/harness.js'
import { routerHeaders, type TestBus } from '../../../test/bus.js'

/** The router's headers for `caller`; for null, those of an anonymous request. */
export const as = (caller: Caller | null): Record<string, string> => routerHeaders(caller)
export const person = (name: string, roles: Caller['roles']): Caller => ({
  userId: `${name}-${randomUUID()}`,
  name,
  roles,
})

export const FIELDS = 'id itemId item { id } customerId customerName status paymentStatus rentalStatus createdAt'
export interface ReservationView {
  id: string
  itemId: string
  item: { id: string } | null
  customerName: string
  status: string
  paymentStatus: string
  rentalStatus: string
}

/** Runs one of the four reservation mutations as `caller`, directly against the subgraph. */
export const mutate = (stack: Stack, caller: Caller | null, name: string, id: string) =>
  gql<Record<string, ReservationView>>(
    stack.url('reservation'),
    `mutation($id: ID!) { r: ${name}(${name === 'reserveItem' ? 'itemId' : 'id'}: $id) { ${FIELDS} } }`,
    { id },
    undefined,
    as(caller),
  )

export async function readReservation(
  stack: Stack,
  caller: Caller | null,
  id: string,
): Promise<ReservationView | null | undefined> {
  const res = await gql<{ reservation: ReservationView | null }>(
    stack.url('reservation'),
    `query($id: ID!) { reservation(id: $id) { ${FIELDS} } }`,
    { id },
    undefined,
    as(caller),
  )
  return res.data?.reservation
}

/** The payments the payment subgraph holds for `caller`. */
export async function paymentsOf(
  stack: Stack,
  caller: Caller,
): Promise<{ id: string; amount: number; status: string; reservation: { id: string } }[]> {
  const res = await gql<{ payments: { id: string; amount: number; status: string; reservation: { id: string } }[] }>(
    stack.url('payment'),
    '{ payments { id amount status reservation { id } } }',
    {},
    undefined,
    as(caller),
  )
  return res.data?.payments ?? []
}

/** An item event published as the item subgraph's relay would, typed by the catalogue. */
export const emitItemEvent = <K extends keyof ItemEvents>(
  bus: TestBus,
  type: K,
  aggregateId: string,
  data: ItemEvents[K],
  aggregateVersion = 2,
) => bus.publish('item', type, aggregateId, aggregateVersion, data)

export const itemSnapshot = (
  itemId: string,
  ownerId: string,
  price: number,
  overrides: Partial<ItemSnapshot> = {},
): ItemSnapshot => ({
  itemId,
  name: 'Camping tent',
  price,
  ownerId,
  status: 'NOT_RENTABLE',
  rentalStatus: 'NOT_RENTING',
  deleted: false,
  ...overrides,
})

/** The reservation's row and the types of the events it wrote, straight from its database. */
export async function stored(
  stack: Stack,
  id: string,
): Promise<{ row: Record<string, unknown> | undefined; events: { type: string; version: number }[] }> {
  const client = new pg.Client({ connectionString: stack.databaseUrl('reservation') })
  await client.connect()
  try {
    const { rows } = await client.query('SELECT * FROM "Reservation" WHERE id = $1', [id])
    const events = await client.query<{ type: string; version: number }>(
      `SELECT envelope->>'type' AS type, (envelope->>'aggregateVersion')::int AS version FROM "OutboxEvent" WHERE envelope->>'aggregateId' = $1 ORDER BY seq`,
      [id],
    )
    return { row: rows[0] as Record<string, unknown> | undefined, events: events.rows }
  } finally {
    await client.end()
  }
}

/** Whether the reservation consumer has handled (applied or skipped) the event with this id. */
export async function handled(stack: Stack, eventId: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: stack.databaseUrl('reservation') })
  await client.connect()
  try {
    const { rowCount } = await client.query('SELECT 1 FROM "ProcessedEvent" WHERE "eventId" = $1', [eventId])
    return rowCount === 1
  } finally {
    await client.end()
  }
}
