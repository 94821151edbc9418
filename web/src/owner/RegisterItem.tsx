import { useMutation } from '@apollo/client/react'
import { useState } from 'react'
import { ErrorNote } from '../errors'
import { graphql } from '../gql'

const REGISTER = graphql(`
  mutation RegisterItem($input: RegisterItemInput!) {
    registerItem(input: $input) { id name price area location { lat lng } }
  }
`)

export function RegisterItem({ onRegistered }: { onRegistered: () => void }) {
  const [form, setForm] = useState({ name: '', price: '', lat: '', lng: '', area: '' })
  const [register, { loading, error }] = useMutation(REGISTER)
  const [note, setNote] = useState<string | null>(null)
  const set = (k: keyof typeof form) => (e: React.ChangeEvent<HTMLInputElement>) =>
    setForm({ ...form, [k]: e.target.value })
  const here = () =>
    navigator.geolocation?.getCurrentPosition(
      p => setForm(f => ({ ...f, lat: String(p.coords.latitude), lng: String(p.coords.longitude) })),
      () => setNote('Your location is not available; type the coordinates.'),
    )
  return (
    <section aria-labelledby="register-title">
      <h2 id="register-title">Register an item</h2>
      <form
        className="card"
        onSubmit={async e => {
          e.preventDefault()
          setNote(null)
          const location = form.lat && form.lng ? { lat: Number(form.lat), lng: Number(form.lng) } : null
          const r = await register({
            variables: { input: { name: form.name, price: Number(form.price), location, area: form.area || null } },
          }).catch(() => null)
          if (r?.data) {
            setForm({ name: '', price: '', lat: form.lat, lng: form.lng, area: form.area })
            onRegistered()
          }
        }}
      >
        <label>
          Name <input name="name" required maxLength={200} value={form.name} onChange={set('name')} />
        </label>
        <label>
          Price per rental (₩){' '}
          <input name="price" required type="number" min={0} step={1} value={form.price} onChange={set('price')} />
        </label>
        <fieldset>
          <legend>Where it can be picked up</legend>
          <div className="row">
            <label>
              Latitude <input name="lat" inputMode="decimal" value={form.lat} onChange={set('lat')} />
            </label>
            <label>
              Longitude <input name="lng" inputMode="decimal" value={form.lng} onChange={set('lng')} />
            </label>
            <button type="button" onClick={here}>
              Use my location
            </button>
          </div>
          <label>
            Area (optional, e.g. a neighbourhood){' '}
            <input name="area" maxLength={100} value={form.area} onChange={set('area')} />
          </label>
        </fieldset>
        <button type="submit" disabled={loading}>
          {loading ? 'Registering…' : 'Register'}
        </button>
        {note && <p role="status">{note}</p>}
        <ErrorNote error={error} />
      </form>
    </section>
  )
}
