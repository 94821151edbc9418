// The live board's feed: itemInfoChanged(ownerId, current, after) over its own graphql-ws client.
// First subscription: current: true (every item of mine as it is now, then live changes, no gap).
// After a lost connection it subscribes again with after: the last cursor seen, so every change
// made meanwhile arrives, in order, none twice; a cursor older than the feed keeps
// (CURSOR_EXPIRED) starts again from current: true.
// A router that does not know those arguments yet (an older supergraph) refuses the document; the
// feed then takes every item's changes, keeps mine, and asks the board to re-read itemInfos after
// each reconnection (onResync), so it still ends equal to the read model.
import type { Client } from 'graphql-ws'
import { wsClient } from '../apollo'
import type { BoardRowFragment } from '../gql/graphql'

/** What the board shows of an ItemInfo: the fragment's fields as GraphQL text. */
export const BOARD_FIELDS = `itemId ownerId itemName itemPrice itemStatus rentalStatus deleted reservationId customerName
  reservationStatus paymentStatus version updatedAt location { lat lng }`

const RESUMABLE = `subscription BoardChanges($ownerId: ID!, $after: String, $current: Boolean) {
  itemInfoChanged(ownerId: $ownerId, after: $after, current: $current) { ${BOARD_FIELDS} cursor } }`
const EVERY_ITEM = `subscription BoardChangesOfEveryItem { itemInfoChanged { ${BOARD_FIELDS} } }`

export type FeedStatus = 'connecting' | 'live' | 'reconnecting'
type Change = BoardRowFragment & { cursor?: string }
const RETRY_MS = [250, 500, 1000, 2000, 4000]

export class BoardFeed {
  private client: Client | null = null
  private unsubscribe: (() => void) | null = null
  private cursor: string | null = null
  private resumable = true
  private connections = 0
  private attempt = 0
  private stopped = false
  private timer: ReturnType<typeof setTimeout> | undefined

  constructor(
    private readonly token: string,
    private readonly ownerId: string,
    private readonly onRow: (row: BoardRowFragment) => void,
    private readonly onStatus: (s: FeedStatus, resumable: boolean) => void,
    private readonly onResync: () => void,
  ) {}

  start(): void {
    this.subscribe()
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.unsubscribe?.()
    void this.client?.dispose()
  }

  private subscribe(): void {
    if (this.stopped) return
    void this.client?.dispose()
    // Reconnecting is ours (with the newest cursor), not graphql-ws's (it would resend the old one).
    const client = wsClient(this.token, 0)
    this.client = client
    client.on('connected', () => {
      this.attempt = 0
      this.onStatus('live', this.resumable)
      // Without a cursor to resume from, what changed while away is re-read.
      if (this.connections++ > 0 && !this.resumable) this.onResync()
    })
    this.onStatus(this.connections ? 'reconnecting' : 'connecting', this.resumable)
    const variables = this.cursor
      ? { ownerId: this.ownerId, after: this.cursor }
      : { ownerId: this.ownerId, current: true }
    this.unsubscribe = client.subscribe<{ itemInfoChanged: Change }>(
      this.resumable ? { query: RESUMABLE, variables } : { query: EVERY_ITEM },
      {
        next: result => {
          const row = result.data?.itemInfoChanged
          if (!row || row.ownerId !== this.ownerId) return
          if (row.cursor && (!this.cursor || BigInt(row.cursor) > BigInt(this.cursor))) this.cursor = row.cursor
          this.onRow(row)
        },
        error: err => {
          // graphql-ws hands over the GraphQL errors of a refused subscription as an array.
          if (Array.isArray(err)) {
            const codes = err.map(e => (e as { extensions?: { code?: string } }).extensions?.code)
            if (codes.includes('CURSOR_EXPIRED')) this.cursor = null
            else if (this.resumable) this.resumable = false
            return this.retry()
          }
          this.retry()
        },
        complete: () => this.retry(),
      },
    )
  }

  private retry(): void {
    if (this.stopped) return
    this.onStatus('reconnecting', this.resumable)
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.subscribe(), RETRY_MS[Math.min(this.attempt++, RETRY_MS.length - 1)])
  }
}
