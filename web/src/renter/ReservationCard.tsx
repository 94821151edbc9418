// One reservation, live: PENDING → CONFIRMED / REJECTED as the saga decides (a change of the
// item's ItemInfo triggers a refetch; a slow poll backs it up), then pay (with "try again later"
// when payment is unavailable), cancel.
import { useMutation, useQuery, useSubscription } from '@apollo/client/react'
import { ErrorNote, errorCode } from '../errors'
import { graphql } from '../gql'

const RESERVATION = graphql(`
  query Reservation($id: ID!) {
    reservation(id: $id) { id itemId status paymentStatus rentalStatus createdAt item { id name price } }
  }
`)
const ITEM_CHANGED = graphql(`
  subscription ItemChanged($itemId: ID!) {
    itemInfoChanged(itemId: $itemId) { itemId version reservationStatus paymentStatus rentalStatus }
  }
`)
const PAY = graphql(`
  mutation Pay($id: ID!) { payReservation(id: $id) { id status paymentStatus rentalStatus } }
`)
const CANCEL = graphql(`
  mutation Cancel($id: ID!) { cancelReservation(id: $id) { id status paymentStatus rentalStatus } }
`)

const WORDS: Record<string, string> = {
  PENDING: 'Waiting for the owner’s item to be held…',
  CONFIRMED: 'Confirmed: the item is held for you.',
  REJECTED: 'Rejected: someone else reserved it first.',
  CANCELLED: 'Cancelled.',
}

export function ReservationCard({ id }: { id: string }) {
  const { data, loading, error, refetch } = useQuery(RESERVATION, { variables: { id }, pollInterval: 2000 })
  const r = data?.reservation
  useSubscription(ITEM_CHANGED, {
    variables: { itemId: r?.itemId ?? '' },
    skip: !r,
    onData: () => void refetch(),
  })
  const [pay, paying] = useMutation(PAY)
  const [cancel, cancelling] = useMutation(CANCEL)
  if (loading && !r) return <p aria-busy="true">Loading the reservation…</p>
  if (!r) return <ErrorNote error={error ?? new Error('missing')} onRetry={() => void refetch()} />
  const payUnavailable = errorCode(paying.error) === 'PAYMENT_UNAVAILABLE'
  const doPay = () => pay({ variables: { id } }).catch(() => null)
  return (
    <section className="reservation" aria-labelledby={`res-${id}`} data-reservation-id={id}>
      <h4 id={`res-${id}`}>Your reservation{r.item ? ` of ${r.item.name}` : ''}</h4>
      <p role="status" aria-live="polite" data-status={r.status}>
        <strong>{r.status}</strong> — {WORDS[r.status]}
        {r.paymentStatus === 'PAID' && ' Paid.'}
        {r.rentalStatus === 'RENTING' && ' You have it now.'}
        {r.rentalStatus === 'RETURNED' && ' Returned.'}
      </p>
      <div className="row">
        {r.status === 'CONFIRMED' && r.paymentStatus === 'NOT_PAID' && (
          <button type="button" disabled={paying.loading} onClick={doPay}>
            {paying.loading ? 'Paying…' : `Pay ${r.item ? `${r.item.price.toLocaleString()} ₩` : ''}`}
          </button>
        )}
        {(r.status === 'PENDING' || r.status === 'CONFIRMED') && r.rentalStatus === 'NOT_RENTING' && (
          <button
            type="button"
            className="secondary"
            disabled={cancelling.loading}
            onClick={() => cancel({ variables: { id } }).catch(() => null)}
          >
            Cancel reservation
          </button>
        )}
      </div>
      {payUnavailable ? (
        <p className="error" role="alert">
          Payment is unavailable right now. Please try again later.{' '}
          <button type="button" onClick={doPay}>
            Retry payment
          </button>
        </p>
      ) : (
        <ErrorNote error={paying.error} />
      )}
      <ErrorNote error={cancelling.error} />
    </section>
  )
}
