// The real item subgraph and projections processes on their own databases and stream; reservation
// events are hand-published (the reservation subgraph is not needed to drive the read model).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomUUID } from 'node:crypto'
import { connect, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type NatsConnection } from 'nats'
import { createEvent, subjectPrefix, type EventEnvelope } from '@gdmarket/platform/events'
import { itemInfoFeedStream } from '@gdmarket/contracts/item-info'
import { encodeCaller, IDENTITY_HEADER, INTERNAL_SECRET_HEADER } from '@gdmarket/platform/identity'
import { DEV_INTERNAL_SECRET } from '@gdmarket/platform/config'
import { createLogger } from '@gdmarket/platform/logger'
import type { ReservationSnapshot } from '@gdmarket/contracts/reservation'
import { errorCode, eventually, gql, Stack } from '../../test/harness.js'
import { PROJECTIONS_CONSUMER } from './item-info.js'
import { rebuildItemInfo } from './rebuild.js'
import { createProjectionsDb, type ProjectionsDb } from './store.js'
import type { ItemInfoView } from './item-info-rules.js'

const FIELDS =
  'itemId item { id name price ownerId } itemName itemPrice ownerId itemStatus rentalStatus deleted reservationId customerId customerName reservationStatus paymentStatus version updatedAt cursor location { lat lng }'
const owner = {
  [IDENTITY_HEADER]: encodeCaller({ userId: 'owner-1', name: 'Park', roles: ['owner'] }),
  [INTERNAL_SECRET_HEADER]: DEV_INTERNAL_SECRET,
}
/** What the router sends for an anonymous caller: the internal secret alone. */
const anonymous = { [INTERNAL_SECRET_HEADER]: DEV_INTERNAL_SECRET }

const stack = new Stack()
let nc: NatsConnection
let js: JetStreamClient
let jsm: JetStreamManager
let db: ProjectionsDb
const notified: ItemInfoView[] = []
let feed: ConsumerMessages | undefined

beforeAll(async () => {
  await stack.start('item', 'projections')
  nc = await connect({ servers: stack.natsUrl })
  js = nc.jetstream()
  jsm = await nc.jetstreamManager()
  db = createProjectionsDb(stack.databaseUrl('projections'), 2)
  // The change feed, read from its first message as a router would from where it joined.
  feed = await (await js.consumers.get(itemInfoFeedStream(stack.stream))).consume()
  void (async () => {
    // The router sets each change's cursor to its feed sequence, as here.
    for await (const m of feed) notified.push({ ...m.json<ItemInfoView>(), cursor: String(m.seq) })
  })()
}, 90_000)

afterAll(async () => {
  await feed?.close()
  await nc?.close()
  await db?.$disconnect()
  await stack.dispose()
})

/** As the items' owner, who sees the private fields; `as` another caller. */
const itemInfo = async (itemId: string, as: Record<string, string> = owner) =>
  (
    await gql<{ itemInfo: ItemInfoView | null }>(
      stack.url('projections'),
      `query($id: ID!) { itemInfo(itemId: $id) { ${FIELDS} } }`,
      { id: itemId },
      undefined,
      as,
    )
  ).data?.itemInfo ?? null
const until = (itemId: string, ok: (i: ItemInfoView) => boolean) =>
  eventually(
    () => itemInfo(itemId),
    i => i !== null && ok(i),
  ) as Promise<ItemInfoView>
const itemMutation = async (field: string, arg: string, value: unknown) => {
  const r = await gql(
    stack.url('item'),
    `mutation($v: ${arg === 'input' ? 'RegisterItemInput!' : 'ID!'}) { ${field}(${arg}: $v) { id } }`,
    { v: value },
    undefined,
    owner,
  )
  expect(r.errors).toBeUndefined()
  return (r.data as Record<string, { id: string }>)[field].id
}

/** Publishes an envelope with a fresh message id (so JetStream never drops it as a duplicate). */
async function publish(context: string, event: EventEnvelope<unknown>): Promise<number> {
  const ack = await js.publish(`${subjectPrefix(stack.stream)}.${context}.${event.type}`, JSON.stringify(event), {
    msgID: randomUUID(),
  })
  return ack.seq
}
const reservationEvent = (type: string, version: number, r: ReservationSnapshot) =>
  createEvent({
    type,
    aggregateId: r.reservationId,
    aggregateVersion: version,
    data: { reservation: r, amount: 500, paymentId: randomUUID() },
    cause: { correlationId: 'test' },
  })

/** Waits until the projection has acknowledged everything up to `seq`: every earlier event was handled. */
const consumed = (seq: number) =>
  eventually(
    () => jsm.consumers.info(stack.stream, PROJECTIONS_CONSUMER),
    i => i.ack_floor.stream_seq >= seq,
  )

describe('ItemInfo projection', () => {
  let itemId: string
  let reservation: ReservationSnapshot
  let paidEvent: EventEnvelope<unknown>

  it('shows a registered item and announces it', async () => {
    const location = { lat: 37.5665, lng: 126.978 }
    itemId = await itemMutation('registerItem', 'input', { name: 'Drill', price: 500, location })
    const info = await until(itemId, () => true)
    expect(info).toMatchObject({
      itemId,
      item: { id: itemId },
      itemName: 'Drill',
      itemPrice: 500,
      ownerId: 'owner-1',
      itemStatus: 'RENTABLE',
      rentalStatus: 'NOT_RENTING',
      location,
    })
    expect(info).toMatchObject({ deleted: false, reservationId: null, reservationStatus: null, version: 1 })
    await eventually(async () => notified.find(n => n.itemId === itemId))
    const announced = notified.find(n => n.itemId === itemId)
    expect({ ...announced, cursor: undefined }).toEqual({ ...info, cursor: undefined })
    // Once published, the row carries its change's feed position: queries and the feed agree.
    expect(await until(itemId, i => i.cursor === announced?.cursor)).toEqual(announced)
  })

  it('answers the contract: malformed id, unknown id, list by owner, entity references', async () => {
    const bad = await gql(stack.url('projections'), '{ itemInfo(itemId: "nope") { itemId } }', {}, undefined, anonymous)
    expect(errorCode(bad)).toBe('BAD_USER_INPUT')
    expect(await itemInfo(randomUUID())).toBeNull()
    const list = await gql<{ itemInfos: ItemInfoView[] }>(
      stack.url('projections'),
      '{ mine: itemInfos(ownerId: "owner-1") { itemId } none: itemInfos(ownerId: "x") { itemId } }',
      {},
      undefined,
      anonymous,
    )
    expect(list.data).toEqual({ mine: [{ itemId }], none: [] })
    const refs = [
      { __typename: 'ItemInfo', itemId },
      { __typename: 'ItemInfo', itemId: randomUUID() },
      { __typename: 'ItemInfo', itemId: 'bad' },
    ]
    const ent = await gql(
      stack.url('projections'),
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on ItemInfo { itemId version } } }',
      { r: refs },
      undefined,
      anonymous,
    )
    expect(ent.data).toEqual({ _entities: [{ itemId, version: 1 }, null, null] })
  })

  it('follows a reservation: requested → held by the item subgraph → paid', async () => {
    reservation = {
      reservationId: randomUUID(),
      itemId,
      customerId: 'cust-1',
      customerName: 'Kim',
      status: 'PENDING',
      paymentStatus: 'NOT_PAID',
      rentalStatus: 'NOT_RENTING',
    }
    await publish('reservation', reservationEvent('ReservationRequested', 1, reservation))
    const heldInfo = await until(itemId, i => i.reservationId === reservation.reservationId)
    expect(heldInfo).toMatchObject({
      itemStatus: 'NOT_RENTABLE',
      customerId: 'cust-1',
      customerName: 'Kim',
      reservationStatus: 'CONFIRMED',
      paymentStatus: 'NOT_PAID',
      version: 2,
    })
    reservation = { ...reservation, status: 'CONFIRMED' }
    await publish('reservation', reservationEvent('ReservationConfirmed', 2, reservation))
    paidEvent = reservationEvent('ReservationPaid', 3, { ...reservation, paymentStatus: 'PAID' })
    await consumed(await publish('reservation', paidEvent))
    expect(await itemInfo(itemId)).toMatchObject({ paymentStatus: 'PAID', version: 3 })
    // Private fields: the owner and the customer see them; anyone else gets null.
    const customer = {
      ...anonymous,
      [IDENTITY_HEADER]: encodeCaller({ userId: 'cust-1', name: 'Kim', roles: ['renter'] }),
    }
    const other = {
      ...anonymous,
      [IDENTITY_HEADER]: encodeCaller({ userId: 'cust-2', name: 'Lee', roles: ['renter'] }),
    }
    expect(await itemInfo(itemId, customer)).toMatchObject({ customerName: 'Kim', paymentStatus: 'PAID' })
    for (const as of [other, anonymous])
      expect(await itemInfo(itemId, as)).toMatchObject({
        reservationId: null,
        customerId: null,
        customerName: null,
        paymentStatus: null,
        reservationStatus: 'CONFIRMED',
        version: 3,
      })
  })

  it('ignores a redelivered event and older events published late', async () => {
    const before = await itemInfo(itemId)
    await publish('reservation', paidEvent)
    await publish('reservation', reservationEvent('ReservationConfirmed', 2, reservation))
    const stale = createEvent({
      type: 'ItemRegistered',
      aggregateId: itemId,
      aggregateVersion: 1,
      data: {
        item: {
          itemId,
          name: 'Old name',
          price: 1,
          ownerId: 'owner-1',
          status: 'RENTABLE',
          rentalStatus: 'NOT_RENTING',
          deleted: false,
        },
      },
      cause: { correlationId: 'test' },
    })
    await consumed(await publish('item', stale))
    expect(await itemInfo(itemId)).toEqual(before)
  })

  it('follows lend, return and delete from the real item subgraph, one version and one notification per change', async () => {
    // The reservation (not running here) decides lend and return; the real item subgraph applies them.
    const paid = { ...reservation, paymentStatus: 'PAID' as const }
    await publish('reservation', reservationEvent('ReservationRentalChanged', 4, { ...paid, rentalStatus: 'RENTING' }))
    await until(itemId, i => i.rentalStatus === 'RENTING')
    await publish('reservation', reservationEvent('ReservationRentalChanged', 5, { ...paid, rentalStatus: 'RETURNED' }))
    const returned = await until(itemId, i => i.rentalStatus === 'RETURNED')
    expect(returned).toMatchObject({
      itemStatus: 'RENTABLE',
      reservationId: reservation.reservationId,
      paymentStatus: 'PAID',
      version: 5,
    })
    await eventually(
      async () => notified.filter(n => n.itemId === itemId).length,
      n => n === 5,
    )
    expect(notified.filter(n => n.itemId === itemId).map(n => n.version)).toEqual([1, 2, 3, 4, 5])

    const other = await itemMutation('registerItem', 'input', { name: 'Ladder', price: 0 })
    await itemMutation('deleteItem', 'id', other)
    expect(await until(other, i => i.deleted)).toMatchObject({ item: null, version: 2 })
  })

  it('rebuilds from the stream exactly the rows incremental consumption made', async () => {
    const { state } = await jsm.streams.info(stack.stream)
    await consumed(state.last_seq)
    const incremental = await db.itemInfo.findMany({ orderBy: { itemId: 'asc' } })
    const applied = await db.processedEvent.count({ where: { consumer: PROJECTIONS_CONSUMER } })
    await stack.stop('projections')

    const result = await rebuildItemInfo({
      db,
      natsUrl: stack.natsUrl,
      stream: stack.stream,
      logger: createLogger('rebuild-test', 'warn'),
      idleMs: 1000,
    })
    expect(result).toMatchObject({ events: state.messages, lastSeq: state.last_seq })
    // updatedAt is the event's time, so even it is reproduced.
    const rebuilt = await db.itemInfo.findMany({ orderBy: { itemId: 'asc' } })
    const withoutCursor = (rows: typeof rebuilt) => rows.map(r => ({ ...r, cursor: undefined }))
    expect(withoutCursor(rebuilt)).toEqual(withoutCursor(incremental))
    // The feed's end: every change a resuming client could need is after it or already in the row.
    const feedEnd = (await jsm.streams.info(itemInfoFeedStream(stack.stream))).state.last_seq
    expect(rebuilt.every(r => r.cursor === BigInt(feedEnd))).toBe(true)
    expect(await db.processedEvent.count({ where: { consumer: PROJECTIONS_CONSUMER } })).toBe(applied)

    await stack.restart('projections')
    expect((await itemInfo(itemId))?.version).toBe(5)
  })
})
