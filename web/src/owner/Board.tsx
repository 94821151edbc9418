// The owner's live board: every item of mine with its integrated state (the ItemInfo read model),
// updating in place from the change feed and catching up after a lost connection; lend and take
// back from here.
import { useMutation, useQuery } from '@apollo/client/react'
import { useEffect, useState } from 'react'
import { ErrorNote } from '../errors'
import { graphql } from '../gql'
import type { BoardRowFragment } from '../gql/graphql'
import { BoardFeed, type FeedStatus } from './board-feed'

// The same fields as board-feed.ts's BOARD_FIELDS (its documents are plain text: see there).
graphql(`
  fragment BoardRow on ItemInfo {
    itemId ownerId itemName itemPrice itemStatus rentalStatus deleted reservationId customerName
    reservationStatus paymentStatus version updatedAt location { lat lng }
  }
`)
const BOARD = graphql(`
  query Board($ownerId: ID!) { itemInfos(ownerId: $ownerId, first: 200) { ...BoardRow } }
`)
const LEND = graphql(
  `mutation Lend($reservationId: ID!) { lendItem(reservationId: $reservationId) { id rentalStatus } }`,
)
const TAKE_BACK = graphql(`mutation TakeBack($itemId: ID!) { returnItem(itemId: $itemId) { id rentalStatus } }`)

const FEED_WORDS: Record<FeedStatus, string> = {
  connecting: 'Connecting to live updates…',
  live: 'Live: changes appear as they happen.',
  reconnecting: 'Connection lost; reconnecting. Nothing is missed: changes made meanwhile arrive when it is back.',
}

function merge(rows: Map<string, BoardRowFragment>, row: BoardRowFragment): Map<string, BoardRowFragment> {
  const known = rows.get(row.itemId)
  if (known && known.version >= row.version) return rows
  return new Map(rows).set(row.itemId, row)
}

export function Board({ ownerId, token }: { ownerId: string; token: string }) {
  const { data, loading, error, refetch } = useQuery(BOARD, { variables: { ownerId }, fetchPolicy: 'network-only' })
  const [rows, setRows] = useState(new Map<string, BoardRowFragment>())
  const [feed, setFeed] = useState<{ status: FeedStatus; resumable: boolean }>({
    status: 'connecting',
    resumable: true,
  })
  const [lend, lending] = useMutation(LEND)
  const [takeBack, takingBack] = useMutation(TAKE_BACK)

  useEffect(() => {
    if (data) setRows(r => data.itemInfos.reduce(merge, r))
  }, [data])
  useEffect(() => {
    const f = new BoardFeed(
      token,
      ownerId,
      row => setRows(r => merge(r, row)),
      (status, resumable) => setFeed({ status, resumable }),
      () => void refetch(),
    )
    f.start()
    return () => f.stop()
  }, [token, ownerId, refetch])

  const list = [...rows.values()].filter(r => !r.deleted).sort((a, b) => a.itemName.localeCompare(b.itemName))
  return (
    <section aria-labelledby="board-title">
      <h2 id="board-title">My board</h2>
      <p className={`feed ${feed.status}`} role="status" data-feed={feed.status} data-resumable={feed.resumable}>
        {FEED_WORDS[feed.status]}
      </p>
      {loading && !data && <p aria-busy="true">Loading your items…</p>}
      <ErrorNote error={error} onRetry={() => void refetch()} />
      <ErrorNote error={lending.error ?? takingBack.error} />
      {data && list.length === 0 && <p className="empty">You have no items yet. Register one to lend it out.</p>}
      {list.length > 0 && (
        <div className="table-wrap">
          <table className="board">
            <caption className="visually-hidden">Every item of mine and its current state</caption>
            <thead>
              <tr>
                <th scope="col">Item</th>
                <th scope="col">Status</th>
                <th scope="col">Reservation</th>
                <th scope="col">Payment</th>
                <th scope="col">Version</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {list.map(r => (
                <tr key={r.itemId} data-item-id={r.itemId} data-version={r.version}>
                  <th scope="row" data-field="itemName">
                    {r.itemName}
                    <span className="hint"> {r.itemPrice.toLocaleString()} ₩</span>
                  </th>
                  <td data-label="Status">
                    <span data-field="itemStatus" className={`badge ${r.itemStatus}`}>
                      {r.itemStatus}
                    </span>{' '}
                    <span data-field="rentalStatus" className={`badge ${r.rentalStatus}`}>
                      {r.rentalStatus}
                    </span>
                  </td>
                  <td data-label="Reservation">
                    <span data-field="reservationStatus">{r.reservationStatus ?? '—'}</span>
                    {r.customerName && (
                      <span className="hint" data-field="customerName">
                        {' '}
                        {r.customerName}
                      </span>
                    )}
                  </td>
                  <td data-label="Payment" data-field="paymentStatus">
                    {r.paymentStatus ?? '—'}
                  </td>
                  <td data-label="Version" data-field="version">
                    {r.version}
                  </td>
                  <td className="actions">
                    {r.reservationId &&
                      r.reservationStatus === 'CONFIRMED' &&
                      r.paymentStatus === 'PAID' &&
                      r.rentalStatus !== 'RENTING' && (
                        <button
                          type="button"
                          disabled={lending.loading}
                          onClick={() => lend({ variables: { reservationId: r.reservationId! } }).catch(() => null)}
                        >
                          Lend <span className="visually-hidden">{r.itemName}</span>
                        </button>
                      )}
                    {r.rentalStatus === 'RENTING' && (
                      <button
                        type="button"
                        disabled={takingBack.loading}
                        onClick={() => takeBack({ variables: { itemId: r.itemId } }).catch(() => null)}
                      >
                        Take back <span className="visually-hidden">{r.itemName}</span>
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}
