// Near-me search on PostGIS: registration with a location and an area, and itemsNear checked
// against an independent geodesic (Vincenty on WGS 84) over items registered through the API.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { randomUUID } from 'node:crypto'
import { errorCode, eventually, gql, Stack } from '../../../test/harness.js'
import { routerHeaders, TestBus } from '../../../test/bus.js'
import { haversineMetres, vincentyMetres } from '../../../test/geodesic.js'

const owner = { userId: 'owner-near', name: 'Olivia', roles: ['owner' as const] }
const stack = new Stack()
let bus: TestBus
const url = () => stack.url('item')
const asOwner = (query: string, variables = {}) => gql(url(), query, variables, undefined, routerHeaders(owner))
/** Anonymous, as the router forwards a caller without a token. */
const anyone = (query: string, variables = {}) => gql(url(), query, variables, undefined, routerHeaders(null))

// Seoul City Hall; items scattered up to ~4 km around it, a few far away.
const CENTRE = { lat: 37.5665, lng: 126.978 }
interface Placed {
  id: string
  lat: number
  lng: number
  status: 'RENTABLE' | 'NOT_RENTABLE'
  deleted: boolean
}
const placed: Placed[] = []

/** A seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

async function register(i: { name: string; price: number; location?: object | null; area?: string | null }) {
  return asOwner('mutation($i: RegisterItemInput!) { registerItem(input: $i) { id location { lat lng } area } }', { i })
}

const NEAR = `query($near: GeoPointInput!, $r: Float!, $status: ItemStatus, $first: Int) {
  itemsNear(near: $near, radiusKm: $r, status: $status, first: $first) { distanceKm item { id status location { lat lng } } } }`

async function near(p: { lat: number; lng: number }, r: number, status: string | null, first: number) {
  const res = await anyone(NEAR, { near: p, r, status, first })
  expect(res.errors).toBeUndefined()
  return res.data!.itemsNear as { distanceKm: number; item: { id: string; status: string } }[]
}

beforeAll(async () => {
  await stack.start('item')
  bus = await TestBus.open(stack)
  const rnd = random(13)
  const spots = Array.from({ length: 150 }, (_, k) => {
    const d = 4 * Math.sqrt(rnd()) // km, uniform over the disc
    const a = rnd() * 2 * Math.PI
    return {
      k,
      lat: CENTRE.lat + (d / 111.0) * Math.cos(a),
      lng: CENTRE.lng + (d / 88.2) * Math.sin(a),
    }
  })
  // Far away: Busan and the other side of the antimeridian.
  spots.push({ k: 150, lat: 35.1796, lng: 129.0756 }, { k: 151, lat: -16.5, lng: 179.99 })
  for (const s of spots) {
    const r = await register({ name: `Near ${s.k}`, price: 100, location: { lat: s.lat, lng: s.lng } })
    placed.push({ id: r.data!.registerItem.id, lat: s.lat, lng: s.lng, status: 'RENTABLE', deleted: false })
  }
  // Some held by a reservation (NOT_RENTABLE), some deleted: itemsNear must filter both.
  for (const p of placed.slice(0, 20)) {
    const reservation = {
      ...{ reservationId: randomUUID(), itemId: p.id, customerId: 'renter-1', customerName: 'Rita' },
      ...{ status: 'PENDING', paymentStatus: 'NOT_PAID', rentalStatus: 'NOT_RENTING' },
    }
    await bus.publish('reservation', 'ReservationRequested', reservation.reservationId, 1, { reservation })
    p.status = 'NOT_RENTABLE'
  }
  for (const p of placed.slice(20, 30)) {
    const d = await asOwner('mutation($id: ID!) { deleteItem(id: $id) { id } }', { id: p.id })
    expect(d.errors).toBeUndefined()
    p.deleted = true
  }
  await eventually(
    async () => (await anyone('{ items(status: NOT_RENTABLE) { id } }')).data!.items.length,
    n => n === 20,
  )
  // One without a location: never near anything.
  await register({ name: 'Nowhere', price: 1 })
}, 120_000)

afterAll(async () => {
  await bus?.close()
  await stack.dispose()
})

describe('items with a location', () => {
  it('keeps the location and the area, and ItemRegistered carries them', async () => {
    const r = await register({ name: 'Ladder', price: 300, location: { lat: 37.5512, lng: 126.9882 }, area: ' 남산 ' })
    expect(r.data!.registerItem).toMatchObject({ location: { lat: 37.5512, lng: 126.9882 }, area: '남산' })
    const id = r.data!.registerItem.id
    const got = await anyone('query($id: ID!) { item(id: $id) { location { lat lng } area } }', { id })
    expect(got.data!.item).toEqual({ location: { lat: 37.5512, lng: 126.9882 }, area: '남산' })
    const events = await eventually(
      () => bus.events(),
      es => es.some(e => e.aggregateId === id),
    )
    expect(events.find(e => e.aggregateId === id)).toMatchObject({
      type: 'ItemRegistered',
      data: { item: { location: { lat: 37.5512, lng: 126.9882 }, area: '남산' } },
    })
    await asOwner('mutation($id: ID!) { deleteItem(id: $id) { id } }', { id })
  })

  it('refuses a location off the globe or a bad area, registering nothing', async () => {
    const before = (await anyone('{ items(first: 200) { id } }')).data!.items.length
    for (const i of [
      { name: 'a', price: 1, location: { lat: 90.5, lng: 0 } },
      { name: 'a', price: 1, location: { lat: -91, lng: 0 } },
      { name: 'a', price: 1, location: { lat: 0, lng: 180.01 } },
      { name: 'a', price: 1, location: { lat: 0, lng: -181 } },
      { name: 'a', price: 1, area: 'x'.repeat(101) },
      { name: 'a', price: 1, area: 'Mapo\u0000' },
    ])
      expect(errorCode(await register(i))).toBe('BAD_USER_INPUT')
    expect((await anyone('{ items(first: 200) { id } }')).data!.items.length).toBe(before)
  })
})

describe('itemsNear', () => {
  it('refuses a radius outside 0 < r <= 50 km and a point off the globe', async () => {
    for (const [p, r] of [
      [CENTRE, 0],
      [CENTRE, -2],
      [CENTRE, 50.001],
      [{ lat: 95, lng: 0 }, 2],
      [{ lat: 0, lng: 200 }, 2],
    ] as const)
      expect(errorCode(await anyone(NEAR, { near: p, r, status: 'RENTABLE', first: 10 }))).toBe('BAD_USER_INPUT')
    expect(errorCode(await anyone(NEAR, { near: CENTRE, r: 2, status: null, first: 0 }))).toBe('BAD_USER_INPUT')
    expect((await near(CENTRE, 50, 'RENTABLE', 1)).length).toBe(1)
  })

  it('answers what the WGS 84 geodesic says: the items within the radius, nearest first, to the metre', async () => {
    const rnd = random(7)
    let compared = 0
    let sphereWouldBeWrong = 0
    const cases: [number, string | null, number][] = [
      [0.5, 'RENTABLE', 50],
      [1, 'RENTABLE', 5],
      [2, 'RENTABLE', 50],
      [2, null, 200],
      [3, 'NOT_RENTABLE', 50],
      [4, 'RENTABLE', 17],
      [50, null, 200],
    ]
    for (const [radiusKm, status, first] of cases)
      for (let q = 0; q < 4; q++) {
        const p = { lat: CENTRE.lat + (rnd() - 0.5) * 0.04, lng: CENTRE.lng + (rnd() - 0.5) * 0.05 }
        const expected = placed
          .filter(x => !x.deleted && (status === null || x.status === status))
          .map(x => ({ x, m: vincentyMetres(p.lat, p.lng, x.lat, x.lng) }))
          .filter(({ m }) => m <= radiusKm * 1000)
          .sort((a, b) => a.m - b.m)
          .slice(0, first)
        const got = await near(p, radiusKm, status, first)
        // An item within a metre of the edge may fall either side of it; none here does by the seed.
        expect(got.map(g => g.item.id)).toEqual(expected.map(e => e.x.id))
        for (const [k, g] of got.entries()) {
          const e = expected[k]
          expect(Math.abs(g.distanceKm * 1000 - e.m)).toBeLessThan(0.5)
          if (Math.abs(haversineMetres(p.lat, p.lng, e.x.lat, e.x.lng) - e.m) > 1) sphereWouldBeWrong++
          if (status) expect(g.item.status).toBe(status)
          compared++
        }
      }
    expect(compared).toBeGreaterThan(500)
    // The check can tell the spheroid from a sphere: a haversine is off by more than a metre here.
    expect(sphereWouldBeWrong).toBeGreaterThan(100)
  })

  it('finds nothing where nothing is, and the far-away items from far away', async () => {
    expect(await near({ lat: 0, lng: 0 }, 50, null, 50)).toEqual([])
    const fiji = await near({ lat: -16.5, lng: -179.99 }, 5, 'RENTABLE', 5)
    // Across the antimeridian: 0.02° of longitude at 16.5° S, about 2.13 km.
    expect(fiji.map(f => f.item.id)).toEqual([placed[151].id])
    expect(fiji[0].distanceKm).toBeCloseTo(vincentyMetres(-16.5, -179.99, -16.5, 179.99) / 1000, 3)
  })
})
