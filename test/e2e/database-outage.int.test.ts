// A service whose database goes away, for longer than every retry and backoff of its consumer
// together: it answers SERVICE_UNAVAILABLE (never INTERNAL_SERVER_ERROR), reports not-ready, its
// consumer pauses, and once the database is back every event is applied, none dead-lettered. A
// service started while its database is down waits, not ready, instead of exiting.
// TEST_DB_OUTAGE_MS sets the outage (default 8 s; the measurement uses 60 000).
import { afterAll, beforeAll, expect, it } from '@jest/globals'
import { errorCode, eventually, gql, sleep, Stack } from '../harness.js'
import { TestBus } from '../bus.js'
import { TcpProxy } from '../tcp-proxy.js'
import { as, mutate, person, readReservation } from '../../subgraphs/reservation/src/testing.js'

const OUTAGE_MS = Number(process.env.TEST_DB_OUTAGE_MS ?? 8_000)
const stack = new Stack()
let proxy: TcpProxy
let bus: TestBus
const owner = person('Park', ['owner'])

const health = async (path: string) =>
  (await fetch(`http://127.0.0.1:${stack.ports.item}/health/${path}`).catch(() => ({ status: 0 }))).status
const registerItem = () =>
  gql<{ registerItem: { id: string } }>(
    stack.url('item'),
    'mutation($i: RegisterItemInput!) { registerItem(input: $i) { id } }',
    { i: { name: 'Tent', price: 3000 } },
    undefined,
    as(owner),
  )

beforeAll(async () => {
  const proxied = await TcpProxy.forUrl(stack.databaseUrl('item'))
  proxy = proxied.proxy
  stack.setEnv('item', { DATABASE_URL: proxied.url, DB_CONNECT_TIMEOUT_MS: '1000', DB_STARTUP_BACKOFF_MAX_MS: '500' })
  await stack.start('item', 'reservation', 'payment')
  bus = await TestBus.open(stack)
}, 120_000)

afterAll(async () => {
  await bus?.close()
  await stack.dispose()
  await proxy?.close()
})

it('answers SERVICE_UNAVAILABLE and not-ready while its database is down, then applies every held event', async () => {
  const items = await Promise.all([1, 2, 3].map(() => registerItem()))
  const itemIds = items.map(r => r.data!.registerItem.id)

  await proxy.cut()
  await eventually(
    () => health('ready'),
    s => s === 503,
  )
  expect(await health('live')).toBe(200)
  const refused = await registerItem()
  expect(errorCode(refused)).toBe('SERVICE_UNAVAILABLE')
  const listed = await gql(stack.url('item'), '{ items { id } }', {}, undefined, as(owner))
  expect(errorCode(listed)).toBe('SERVICE_UNAVAILABLE')

  const renters = itemIds.map((_, i) => person(`Renter${i}`, ['renter']))
  const reserved = await Promise.all(itemIds.map((id, i) => mutate(stack, renters[i], 'reserveItem', id)))
  expect(reserved.map(r => r.data?.r.status)).toEqual(['PENDING', 'PENDING', 'PENDING'])
  await sleep(OUTAGE_MS)
  expect((await readReservation(stack, renters[0], reserved[0].data!.r.id))?.status).toBe('PENDING')

  await proxy.restore()
  const restoredAt = Date.now()
  await eventually(
    () => Promise.all(reserved.map((r, i) => readReservation(stack, renters[i], r.data!.r.id))),
    all => all.every(r => r?.status === 'CONFIRMED'),
    { timeoutMs: 60_000 },
  )
  console.log(`database outage of ${OUTAGE_MS} ms: reservations decided ${Date.now() - restoredAt} ms after restore`)
  expect(await health('ready')).toBe(200)
  expect(await bus.deadLetters()).toEqual([])
}, 180_000)

it('waits for its database at start instead of exiting, and becomes ready when it answers', async () => {
  await stack.stop('item', 'SIGKILL')
  await proxy.cut()
  const started = stack.restart('item')
  await eventually(
    () => health('live'),
    s => s === 200,
    { timeoutMs: 60_000 },
  )
  await sleep(3_000) // several tries of its migrations, with backoff
  expect(stack.running.get('item')?.child.exitCode).toBeNull()
  expect(await health('ready')).toBe(503)
  expect(errorCode(await registerItem())).toBe('SERVICE_UNAVAILABLE')
  await proxy.restore()
  await started
  expect(registerItemOk(await registerItem())).toBe(true)
}, 120_000)

const registerItemOk = (r: Awaited<ReturnType<typeof registerItem>>) => typeof r.data?.registerItem.id === 'string'
