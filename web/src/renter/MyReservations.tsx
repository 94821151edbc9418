import { useQuery } from '@apollo/client/react'
import { useState } from 'react'
import { ErrorNote } from '../errors'
import { graphql } from '../gql'
import { ReservationCard } from './ReservationCard'

const MY_RESERVATIONS = graphql(`
  query MyReservations {
    reservations(first: 50) { id status paymentStatus rentalStatus createdAt item { id name } }
  }
`)

export function MyReservations() {
  const { data, loading, error, refetch } = useQuery(MY_RESERVATIONS, { pollInterval: 5000 })
  const [open, setOpen] = useState<string | null>(null)
  const list = data?.reservations ?? []
  return (
    <section aria-labelledby="mine-title">
      <h2 id="mine-title">My reservations</h2>
      {loading && !data && <p aria-busy="true">Loading…</p>}
      <ErrorNote error={error} onRetry={() => void refetch()} />
      {data && list.length === 0 && <p className="empty">No reservations yet. Find something near you to borrow.</p>}
      <ul className="plain">
        {list.map(r => (
          <li key={r.id} className="card">
            <button
              type="button"
              className="result"
              aria-expanded={open === r.id}
              onClick={() => setOpen(open === r.id ? null : r.id)}
            >
              <span className="name">{r.item?.name ?? 'A deleted item'}</span>
              <span>{r.status}</span>
              <span className="hint">
                {r.paymentStatus} · {r.rentalStatus} · {new Date(r.createdAt).toLocaleString()}
              </span>
            </button>
            {open === r.id && <ReservationCard id={r.id} />}
          </li>
        ))}
      </ul>
    </section>
  )
}
