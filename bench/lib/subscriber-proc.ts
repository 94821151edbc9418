// One load-generator process of the subscriptions fan-out: opens `count` bare graphql-transport-ws
// subscribers from its own loopback address (so 18,000 sockets do not share one address's
// ephemeral ports), records when each `next` arrives (epoch ms, comparable across processes), and
// reports its own CPU. Driven over IPC by bench/subscriptions.ts:
//   parent → { type: 'open', url, query, count, localAddress, batch } → child → { type: 'opened', ms }
//   parent → { type: 'mark' } (start of the measured window)
//   parent → { type: 'report' } → child → { type: 'report', arrivals, cpuMs, wallMs, errors }
import { performance } from 'node:perf_hooks'
import WebSocket from 'ws'

interface Open {
  type: 'open'
  url: string
  query: string
  count: number
  localAddress: string
  batch: number
}

const now = () => performance.timeOrigin + performance.now()
/** `<itemId>@<version>` → arrival times. */
const arrivals: Record<string, number[]> = {}
const sockets: WebSocket[] = []
let errors = 0
let markedCpu = process.cpuUsage()
let markedAt = now()

function subscriber(o: Open): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(o.url, 'graphql-transport-ws', {
      localAddress: o.localAddress,
      perMessageDeflate: false,
      skipUTF8Validation: true,
    })
    ws.on('error', err => {
      errors++
      reject(err)
    })
    ws.on('open', () => ws.send('{"type":"connection_init"}'))
    ws.on('message', data => {
      const at = now()
      const text = String(data)
      if (text.startsWith('{"type":"connection_ack"')) {
        ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: o.query } }))
        resolve(ws)
        return
      }
      const message = JSON.parse(text) as {
        type: string
        payload?: { data?: { itemInfoChanged?: { itemId: string; version: number } } }
      }
      const change = message.type === 'next' ? message.payload?.data?.itemInfoChanged : undefined
      if (!change) return
      const key = `${change.itemId}@${change.version}`
      arrivals[key] ??= []
      arrivals[key].push(at)
    })
  })
}

process.on('message', async (message: Open | { type: 'mark' | 'report' | 'close' }) => {
  if (message.type === 'open') {
    const started = now()
    try {
      for (let i = 0; i < message.count; i += message.batch) {
        const n = Math.min(message.batch, message.count - i)
        sockets.push(...(await Promise.all(Array.from({ length: n }, () => subscriber(message)))))
      }
      process.send?.({ type: 'opened', ms: now() - started })
    } catch (err) {
      process.send?.({ type: 'failed', error: String(err) })
    }
  } else if (message.type === 'mark') {
    markedCpu = process.cpuUsage()
    markedAt = now()
    for (const key of Object.keys(arrivals)) delete arrivals[key]
    process.send?.({ type: 'marked' })
  } else if (message.type === 'report') {
    const cpu = process.cpuUsage(markedCpu)
    process.send?.({
      type: 'report',
      arrivals,
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs: now() - markedAt,
      errors,
    })
  } else if (message.type === 'close') {
    for (const s of sockets) s.terminate()
    process.exit(0)
  }
})
process.send?.({ type: 'ready' })
