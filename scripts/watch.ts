// `npm run watch -- [itemId]`: prints live ItemInfo changes (every item without an id) through the
// router's WebSocket endpoint. ROUTER_URL (default ws://localhost:4000/graphql), TOKEN optional.
import WebSocket from 'ws'
import { createClient } from 'graphql-ws'

const itemId = process.argv[2] ?? null
const url = process.env.ROUTER_URL ?? 'ws://localhost:4000/graphql'
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: process.env.TOKEN ? { authorization: process.env.TOKEN } : {},
  retryAttempts: Infinity,
})
const query = `subscription($id: ID) { itemInfoChanged(itemId: $id) {
  itemId version itemName itemPrice itemStatus rentalStatus deleted reservationStatus paymentStatus customerName updatedAt item { name price ownerId } } }`

console.error(`watching ${itemId ?? 'every item'} at ${url} (Ctrl-C to stop)`)
client.subscribe(
  { query, variables: { id: itemId } },
  {
    next: ({ data, errors }) => console.log(JSON.stringify(errors ?? data?.itemInfoChanged)),
    error: err => {
      console.error('subscription failed:', err instanceof Error ? err.message : err)
      process.exit(1)
    },
    complete: () => process.exit(0),
  },
)
process.once('SIGINT', () => void Promise.resolve(client.dispose()).then(() => process.exit(0)))
