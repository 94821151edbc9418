// `npm run demo`: the original's CQRS scenario, end to end through the router of a running stack
// (`npm start`): an owner registers an item, a renter reserves it (PENDING), the item subgraph holds
// it (CONFIRMED, NOT_RENTABLE), the renter pays, the owner lends and takes it back. After each step
// it waits — polling with a deadline — for the eventual state and prints what every subgraph and the
// ItemInfo read model say: the terminal counterpart of the original's screenshots.
// ROUTER_URL (default http://localhost:4000/graphql), JWT_SECRET (default: the development one),
// DEMO_TIMEOUT_MS (how long one eventual state may take, default 15000).
import { randomBytes } from 'node:crypto'
import { DEV_JWT_SECRET } from '@gdmarket/platform/config'
import { signToken } from '../router/src/auth.js'
import { eventually as waitFor } from '@gdmarket/platform/wait'

const ROUTER_URL = process.env.ROUTER_URL ?? 'http://localhost:4000/graphql'
const TIMEOUT_MS = Number(process.env.DEMO_TIMEOUT_MS ?? 15_000)
const POLL_MS = 100

interface GqlError {
  message: string
  extensions?: { code?: string }
}
interface Item {
  id: string
  name: string
  price: number
  status: string
  rentalStatus: string
}
interface Reservation {
  id: string
  status: string
  paymentStatus: string
  rentalStatus: string
  customerName: string
  payment: { id: string; amount: number; status: string } | null
}
interface ItemInfo {
  itemStatus: string
  rentalStatus: string
  reservationStatus: string | null
  paymentStatus: string | null
  customerName: string | null
  version: number
}
interface Snapshot {
  item: Item | null
  reservation?: Reservation | null
  itemInfo: ItemInfo | null
}

class DemoError extends Error {}

async function gql<T>(
  query: string,
  variables: Record<string, unknown>,
  token: string,
): Promise<{ data?: T; errors?: GqlError[] }> {
  let res: Response
  try {
    res = await fetch(ROUTER_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    })
  } catch (e) {
    throw new DemoError(
      `cannot reach the router at ${ROUTER_URL} (${e instanceof Error ? e.message : e}); is the stack running? npm start`,
    )
  }
  const text = await res.text()
  try {
    return JSON.parse(text) as { data?: T; errors?: GqlError[] }
  } catch {
    throw new DemoError(`the router answered ${res.status} with something that is not JSON: ${text.slice(0, 200)}`)
  }
}

/** The mutation's result, or a DemoError naming the step and the contract's error code. */
async function mutate<T>(step: string, query: string, variables: Record<string, unknown>, token: string): Promise<T> {
  const r = await gql<T>(query, variables, token)
  if (r.errors?.length || !r.data) throw new DemoError(`${step} failed: ${describeErrors(r.errors)}`)
  return r.data
}

const describeErrors = (errors: GqlError[] | undefined) =>
  (errors ?? []).map(e => `${e.extensions?.code ?? 'ERROR'}: ${e.message}`).join('; ') || 'no data'

/** Polls until `ok` holds; returns the value and how long it took, or fails after the deadline with the last value. */
async function eventually<T>(
  what: string,
  fn: () => Promise<T>,
  ok: (v: T) => boolean,
): Promise<{ value: T; ms: number }> {
  const started = Date.now()
  const value = await waitFor(fn, ok, {
    what,
    timeoutMs: TIMEOUT_MS,
    intervalMs: POLL_MS,
    fatal: e => e instanceof DemoError,
  }).catch(e => {
    throw e instanceof DemoError ? e : new DemoError(e instanceof Error ? e.message : String(e))
  })
  return { value, ms: Date.now() - started }
}

const SNAPSHOT = `query($item: ID!, $reservation: ID!, $withReservation: Boolean!) {
  item(id: $item) { id name price status rentalStatus }
  reservation(id: $reservation) @include(if: $withReservation) { id status paymentStatus rentalStatus customerName payment { id amount status } }
  itemInfo(itemId: $item) { itemStatus rentalStatus reservationStatus paymentStatus customerName version }
}`

async function snapshot(itemId: string, reservationId: string | null, token: string): Promise<Snapshot> {
  const r = await gql<Snapshot>(
    SNAPSHOT,
    { item: itemId, reservation: reservationId ?? '', withReservation: reservationId !== null },
    token,
  )
  if (r.errors?.length || !r.data) throw new Error(describeErrors(r.errors))
  return r.data
}

// --- printing ------------------------------------------------------------------------------------
const dash = '—'
function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map(r => r[c].length)))
  const line = (l: string, m: string, r: string) => `   ${l}${widths.map(w => '─'.repeat(w + 2)).join(m)}${r}`
  const row = (cells: string[]) => `   │${cells.map((cell, c) => ` ${cell.padEnd(widths[c])} `).join('│')}│`
  return [line('┌', '┬', '┐'), row(rows[0]), line('├', '┼', '┤'), ...rows.slice(1).map(row), line('└', '┴', '┘')].join(
    '\n',
  )
}

function printSnapshot(s: Snapshot): void {
  const i = s.item
  const r = s.reservation
  const p = r?.payment
  const info = s.itemInfo
  console.log(
    table([
      ['view (subgraph)', 'item status', 'rental', 'reservation', 'payment', 'detail'],
      [
        'Item (item)',
        i?.status ?? dash,
        i?.rentalStatus ?? dash,
        dash,
        dash,
        i ? `${i.name}, price ${i.price}` : 'not found',
      ],
      [
        'Reservation (reservation)',
        dash,
        r?.rentalStatus ?? dash,
        r?.status ?? dash,
        r?.paymentStatus ?? dash,
        r ? `by ${r.customerName}` : dash,
      ],
      ['Payment (payment)', dash, dash, dash, p?.status ?? dash, p ? `amount ${p.amount}` : r ? 'none yet' : dash],
      [
        'ItemInfo (projections)',
        info?.itemStatus ?? dash,
        info?.rentalStatus ?? dash,
        info?.reservationStatus ?? dash,
        info?.paymentStatus ?? dash,
        info ? `version ${info.version}` : 'not projected yet',
      ],
    ]),
  )
}

let stepNo = 0
function step(title: string, detail: string): void {
  console.log(`\n${++stepNo}. ${title}\n   ${detail}`)
}
const waited = (what: string, ms: number) => console.log(`   … ${what} after ${ms} ms`)

// --- the scenario --------------------------------------------------------------------------------
async function main(): Promise<void> {
  const secret = process.env.JWT_SECRET || DEV_JWT_SECRET
  const tag = randomBytes(3).toString('hex')
  const ownerId = `demo-owner-${tag}`
  const renterId = `demo-renter-${tag}`
  const owner = await signToken({ userId: ownerId, name: 'Olivia', roles: ['owner'] }, secret, { expiresIn: '1h' })
  const renter = await signToken({ userId: renterId, name: 'YoungEun', roles: ['renter'] }, secret, { expiresIn: '1h' })
  console.log(`GDmarket demo through ${ROUTER_URL}\n   owner ${ownerId} (Olivia), renter ${renterId} (YoungEun)`)

  step('register an item', 'owner: registerItem(input: { name: "Camera", price: 100 })')
  const { registerItem: item } = await mutate<{ registerItem: Item }>(
    'registerItem',
    `mutation { registerItem(input: { name: "Camera", price: 100 }) { id name price status rentalStatus } }`,
    {},
    owner,
  )
  console.log(`   → item ${item.id}: ${item.status}, ${item.rentalStatus}`)
  let s = await eventually(
    'ItemInfo projected',
    () => snapshot(item.id, null, renter),
    v => v.itemInfo !== null,
  )
  waited('ItemInfo projected', s.ms)
  printSnapshot(s.value)

  step('reserve it', 'renter: reserveItem(itemId) — answers PENDING at once; the item subgraph decides by event')
  const { reserveItem: reserved } = await mutate<{ reserveItem: Reservation }>(
    'reserveItem',
    `mutation($id: ID!) { reserveItem(itemId: $id) { id status paymentStatus rentalStatus customerName payment { id amount status } } }`,
    { id: item.id },
    renter,
  )
  console.log(`   → reservation ${reserved.id}: ${reserved.status}`)
  if (reserved.status !== 'PENDING') throw new DemoError(`reserveItem answered ${reserved.status}, expected PENDING`)
  const rid = reserved.id
  s = await eventually(
    'reservation CONFIRMED, item NOT_RENTABLE, ItemInfo CONFIRMED',
    () => snapshot(item.id, rid, renter),
    v =>
      v.reservation?.status === 'CONFIRMED' &&
      v.item?.status === 'NOT_RENTABLE' &&
      v.itemInfo?.reservationStatus === 'CONFIRMED',
  )
  if (s.value.reservation?.status === 'REJECTED') throw new DemoError('the reservation was REJECTED')
  waited('CONFIRMED and NOT_RENTABLE everywhere', s.ms)
  printSnapshot(s.value)

  step('pay', 'renter: payReservation(id) — a synchronous call from reservation to payment')
  const { payReservation: paid } = await mutate<{ payReservation: Reservation }>(
    'payReservation',
    `mutation($id: ID!) { payReservation(id: $id) { id status paymentStatus payment { id amount status } } }`,
    { id: rid },
    renter,
  )
  console.log(
    `   → payment ${paid.payment?.id ?? '(none)'}: ${paid.payment?.status ?? dash}, amount ${paid.payment?.amount ?? dash}`,
  )
  s = await eventually(
    'payment visible and ItemInfo PAID',
    () => snapshot(item.id, rid, renter),
    v => v.reservation?.payment?.status === 'PAID' && v.itemInfo?.paymentStatus === 'PAID',
  )
  waited('PAID in the read model', s.ms)
  printSnapshot(s.value)

  step(
    'lend it',
    'owner: lendItem(reservationId) — the item learns of the payment by an event, so this may need a retry',
  )
  const lent = await eventually(
    'lendItem accepted',
    () =>
      gql<{ lendItem: Item }>(
        `mutation($r: ID!) { lendItem(reservationId: $r) { id status rentalStatus } }`,
        { r: rid },
        owner,
      ),
    r => {
      const code = r.errors?.[0]?.extensions?.code
      if (r.errors?.length && code !== 'CONFLICT') throw new DemoError(`lendItem failed: ${describeErrors(r.errors)}`)
      return !r.errors?.length && !!r.data
    },
  )
  console.log(`   → item ${lent.value.data?.lendItem.rentalStatus} (accepted after ${lent.ms} ms)`)
  s = await eventually(
    'reservation and ItemInfo RENTING',
    () => snapshot(item.id, rid, renter),
    v => v.reservation?.rentalStatus === 'RENTING' && v.itemInfo?.rentalStatus === 'RENTING',
  )
  waited('RENTING everywhere', s.ms)
  printSnapshot(s.value)

  step('take it back', 'owner: returnItem(itemId)')
  const { returnItem: back } = await mutate<{ returnItem: Item }>(
    'returnItem',
    `mutation($id: ID!) { returnItem(itemId: $id) { id status rentalStatus } }`,
    { id: item.id },
    owner,
  )
  console.log(`   → item ${back.status}, ${back.rentalStatus}`)
  s = await eventually(
    'RETURNED and RENTABLE everywhere',
    () => snapshot(item.id, rid, renter),
    v =>
      v.reservation?.rentalStatus === 'RETURNED' &&
      v.itemInfo?.rentalStatus === 'RETURNED' &&
      v.itemInfo.itemStatus === 'RENTABLE' &&
      v.item?.status === 'RENTABLE',
  )
  waited('RETURNED and RENTABLE everywhere', s.ms)
  printSnapshot(s.value)

  console.log(
    `\ndone: item ${item.id} went round the whole cycle; ItemInfo is at version ${s.value.itemInfo?.version}.`,
  )
}

main().catch((e: unknown) => {
  console.error(`\ndemo failed: ${e instanceof Error ? e.message : String(e)}`)
  if (!(e instanceof DemoError) && e instanceof Error) console.error(e.stack)
  process.exit(1)
})
