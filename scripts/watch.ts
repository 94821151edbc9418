// `npm run watch -- [itemId]`: prints live ItemInfo changes (every item without an id) through the
// router's WebSocket endpoint, and survives the router: when the connection drops (a restart, a
// deploy, SIGTERM's 1001) it subscribes again with `after` set to the last cursor it printed, so
// no change is missed and none is printed twice.
// ROUTER_URL (default ws://localhost:4000/graphql); TOKEN to send one (then the reservation's
// private fields are shown too, to the owner and the customer); OWNER=<ownerId> for one owner's
// items; AFTER=<cursor> to start with the changes after that cursor.
import WebSocket from 'ws'
import { createClient } from 'graphql-ws'

const itemId = process.argv[2] ?? null
const ownerId = process.env.OWNER ?? null
const url = process.env.ROUTER_URL ?? 'ws://localhost:4000/graphql'
const token = process.env.TOKEN
/** Wait before subscribing again after the connection dropped, doubling up to the maximum. */
const RETRY_MS = 500
const RETRY_MAX_MS = 5_000

const shown = `cursor itemId version itemName itemPrice itemStatus rentalStatus deleted reservationStatus updatedAt item { name price ownerId }${
  token ? ' customerName paymentStatus' : ''
}`
const query = `subscription($id: ID, $owner: ID, $after: String) {
  itemInfoChanged(itemId: $id, ownerId: $owner, after: $after) { ${shown} } }`

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: token ? { authorization: token } : {},
  // Reconnecting is done here, with the last cursor: graphql-ws would resend the first `after`.
  retryAttempts: 0,
  lazy: true,
})

let cursor: string | null = process.env.AFTER ?? null
let retryMs = RETRY_MS
let stopping = false

function subscribe(): void {
  console.error(
    cursor
      ? `resuming ${itemId ?? ownerId ?? 'every item'} at ${url} after cursor ${cursor}`
      : `watching ${itemId ?? ownerId ?? 'every item'} at ${url} (Ctrl-C to stop)`,
  )
  client.subscribe<{ itemInfoChanged: { cursor: string } }>(
    { query, variables: { id: itemId, owner: ownerId, after: cursor } },
    {
      next: ({ data, errors }) => {
        if (errors) return console.log(JSON.stringify(errors))
        if (!data) return
        cursor = data.itemInfoChanged.cursor
        retryMs = RETRY_MS
        console.log(JSON.stringify(data.itemInfoChanged))
      },
      error: err => {
        const codes = Array.isArray(err) ? err.map(e => e.extensions?.code) : []
        // A refusal (bad token, expired cursor, bad arguments) will not go away by retrying.
        if (codes.length) {
          console.error('subscription refused:', JSON.stringify(err))
          process.exit(1)
        }
        again(err)
      },
      complete: () => again('the router completed the subscription'),
    },
  )
}

function again(reason: unknown): void {
  if (stopping) return
  const event = reason as { code?: number; message?: string; type?: string }
  const why =
    reason instanceof Error
      ? reason.message
      : typeof reason === 'string'
        ? reason
        : event.code
          ? `closed with ${event.code}`
          : (event.message ?? event.type ?? 'socket error')
  console.error(`connection lost (${why}); subscribing again in ${retryMs} ms`)
  setTimeout(subscribe, retryMs)
  retryMs = Math.min(retryMs * 2, RETRY_MAX_MS)
}

subscribe()
process.once('SIGINT', () => {
  stopping = true
  void Promise.resolve(client.dispose()).then(() => process.exit(0))
})
