// Find things near a point: the browser's geolocation, typed coordinates, or a click on the
// distance view (no map tiles: a plain drawing of the results around the point, to scale).
import { useLazyQuery, useMutation } from '@apollo/client/react'
import { useState } from 'react'
import { ErrorNote } from '../errors'
import { graphql } from '../gql'
import { ReservationCard } from './ReservationCard'

export const ITEMS_NEAR = graphql(`
  query ItemsNear($near: GeoPointInput!, $radiusKm: Float!) {
    itemsNear(near: $near, radiusKm: $radiusKm, first: 50) {
      distanceKm
      item { id name price area status location { lat lng } }
    }
  }
`)

const RESERVE = graphql(`
  mutation Reserve($itemId: ID!) {
    reserveItem(itemId: $itemId) { id status paymentStatus rentalStatus }
  }
`)

type Point = { lat: number; lng: number }
const SEOUL: Point = { lat: 37.5665, lng: 126.978 }
const RADII = [0.5, 1, 2, 5, 10, 50]

/** km east/north of `from`, on a local flat approximation (fine for a drawing). */
function offsetKm(from: Point, to: Point): { x: number; y: number } {
  return {
    x: (to.lng - from.lng) * 111.32 * Math.cos((from.lat * Math.PI) / 180),
    y: (to.lat - from.lat) * 110.57,
  }
}
function moveBy(from: Point, x: number, y: number): Point {
  return { lat: from.lat + y / 110.57, lng: from.lng + x / (111.32 * Math.cos((from.lat * Math.PI) / 180)) }
}
const round6 = (n: number) => Math.round(n * 1e6) / 1e6
const km = (d: number) => (d < 1 ? `${Math.round(d * 1000)} m` : `${d.toFixed(2)} km`)

export function FindNear({ canReserve }: { canReserve: boolean }) {
  const [lat, setLat] = useState(String(SEOUL.lat))
  const [lng, setLng] = useState(String(SEOUL.lng))
  const [radiusKm, setRadiusKm] = useState(2)
  const [searched, setSearched] = useState<Point | null>(null)
  const [geoNote, setGeoNote] = useState<string | null>(null)
  const [selected, setSelected] = useState<string | null>(null)
  const [search, { data, loading, error }] = useLazyQuery(ITEMS_NEAR, { fetchPolicy: 'network-only' })
  const [reserve, reserving] = useMutation(RESERVE)
  const [reservationId, setReservationId] = useState<string | null>(null)

  const run = (p: Point, r = radiusKm) => {
    setLat(String(round6(p.lat)))
    setLng(String(round6(p.lng)))
    setSearched(p)
    setSelected(null)
    void search({ variables: { near: p, radiusKm: r } })
  }
  const here = () => {
    if (!navigator.geolocation) return setGeoNote('This browser cannot tell where you are; type coordinates instead.')
    setGeoNote('Finding where you are…')
    navigator.geolocation.getCurrentPosition(
      pos => {
        setGeoNote(null)
        run({ lat: pos.coords.latitude, lng: pos.coords.longitude })
      },
      () => setGeoNote('Your location is not available (permission denied or unknown); type coordinates instead.'),
      { timeout: 10_000 },
    )
  }
  const results = data?.itemsNear ?? []
  const chosen = results.find(r => r.item.id === selected)
  const SIZE = 300
  const scale = (SIZE / 2 - 12) / radiusKm

  return (
    <section aria-labelledby="find-title">
      <h2 id="find-title">Find things near you</h2>
      <form
        className="card"
        onSubmit={e => {
          e.preventDefault()
          run({ lat: Number(lat), lng: Number(lng) })
        }}
      >
        <div className="row">
          <label>
            Latitude{' '}
            <input name="lat" inputMode="decimal" required value={lat} onChange={e => setLat(e.target.value)} />
          </label>
          <label>
            Longitude{' '}
            <input name="lng" inputMode="decimal" required value={lng} onChange={e => setLng(e.target.value)} />
          </label>
          <label>
            Within
            <select value={radiusKm} onChange={e => setRadiusKm(Number(e.target.value))}>
              {RADII.map(r => (
                <option key={r} value={r}>
                  {km(r)}
                </option>
              ))}
            </select>
          </label>
        </div>
        <div className="row">
          <button type="submit">Search</button>
          <button type="button" onClick={here}>
            Use my location
          </button>
        </div>
        {geoNote && <p role="status">{geoNote}</p>}
      </form>
      <ErrorNote error={error} onRetry={() => searched && run(searched)} />
      {searched && (
        <div className="near">
          <figure className="card distance-view">
            <button
              type="button"
              className="map"
              aria-label={`Distance view: ${results.length} items within ${km(radiusKm)}; click, or use the arrow keys, to search around another point`}
              onKeyDown={e => {
                // The keyboard's way to move the point: arrows step a quarter of the radius.
                const step = radiusKm / 4
                const move = {
                  ArrowUp: [0, step],
                  ArrowDown: [0, -step],
                  ArrowLeft: [-step, 0],
                  ArrowRight: [step, 0],
                }[e.key]
                if (!move) return
                e.preventDefault()
                run(moveBy(searched, move[0], move[1]))
              }}
              onClick={e => {
                if (e.detail === 0) return // Enter or Space: the arrows move the point
                const box = e.currentTarget.getBoundingClientRect()
                const x = ((e.clientX - box.left) / box.width) * SIZE - SIZE / 2
                const y = SIZE / 2 - ((e.clientY - box.top) / box.height) * SIZE
                run(moveBy(searched, x / scale, y / scale))
              }}
            >
              <svg aria-hidden="true" viewBox={`0 0 ${SIZE} ${SIZE}`} width="100%">
                {[1, 0.5].map(f => (
                  <circle key={f} cx={SIZE / 2} cy={SIZE / 2} r={radiusKm * f * scale} className="ring" />
                ))}
                <text x={SIZE / 2 + 4} y={SIZE / 2 - radiusKm * scale + 14} className="ring-label">
                  {km(radiusKm)}
                </text>
                <circle cx={SIZE / 2} cy={SIZE / 2} r={5} className="you" />
                {results.map(r => {
                  if (!r.item.location) return null
                  const o = offsetKm(searched, r.item.location)
                  return (
                    <circle
                      key={r.item.id}
                      cx={SIZE / 2 + o.x * scale}
                      cy={SIZE / 2 - o.y * scale}
                      r={selected === r.item.id ? 7 : 4.5}
                      className={selected === r.item.id ? 'dot chosen' : 'dot'}
                    >
                      <title>
                        {r.item.name}, {km(r.distanceKm)}
                      </title>
                    </circle>
                  )
                })}
              </svg>
            </button>
            <figcaption>
              You are at the centre; rings at {km(radiusKm / 2)} and {km(radiusKm)}. Click anywhere to search there.
            </figcaption>
          </figure>
          <div>
            {loading && <p aria-busy="true">Searching…</p>}
            {!loading && !error && results.length === 0 && (
              <p className="empty">Nothing to rent within {km(radiusKm)} of this point. Try a wider circle.</p>
            )}
            <ol className="results" aria-label="Items near you, nearest first">
              {results.map(r => (
                <li key={r.item.id}>
                  <button
                    type="button"
                    className="result"
                    aria-pressed={selected === r.item.id}
                    onClick={() => {
                      setSelected(r.item.id)
                      setReservationId(null)
                    }}
                  >
                    <span className="name">{r.item.name}</span>
                    <span>{r.item.price.toLocaleString()} ₩</span>
                    <span className="hint">
                      {km(r.distanceKm)}
                      {r.item.area ? ` · ${r.item.area}` : ''}
                    </span>
                  </button>
                </li>
              ))}
            </ol>
          </div>
        </div>
      )}
      {chosen && (
        <article className="card" aria-labelledby="item-title">
          <h3 id="item-title">{chosen.item.name}</h3>
          <dl className="facts">
            <dt>Price</dt>
            <dd>{chosen.item.price.toLocaleString()} ₩ per rental</dd>
            <dt>Distance</dt>
            <dd>{km(chosen.distanceKm)}</dd>
            {chosen.item.area && (
              <>
                <dt>Area</dt>
                <dd>{chosen.item.area}</dd>
              </>
            )}
            <dt>Status</dt>
            <dd>{chosen.item.status === 'RENTABLE' ? 'Available' : 'Not available now'}</dd>
          </dl>
          {canReserve && !reservationId && (
            <button
              type="button"
              disabled={reserving.loading}
              onClick={async () => {
                const r = await reserve({ variables: { itemId: chosen.item.id } }).catch(() => null)
                if (r?.data) setReservationId(r.data.reserveItem.id)
              }}
            >
              {reserving.loading ? 'Reserving…' : 'Reserve'}
            </button>
          )}
          {!canReserve && <p className="hint">Sign in as a renter to reserve.</p>}
          <ErrorNote error={reserving.error} />
          {reservationId && <ReservationCard id={reservationId} />}
        </article>
      )}
    </section>
  )
}
