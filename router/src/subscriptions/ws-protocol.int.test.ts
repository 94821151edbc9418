// The router's own WebSocket and graphql-transport-ws server against a raw `ws` client: the
// protocol's close codes for clients that break it, the WebSocket close handshake and pings, and
// the message size limit (SUBSCRIPTION_MAX_MESSAGE_BYTES).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import WebSocket from 'ws'
import { Stack } from '../../../test/harness.js'

const MAX_MESSAGE = 64 * 1024
const stack = new Stack({
  router: { SUBSCRIPTION_INIT_TIMEOUT_MS: '400', SUBSCRIPTION_MAX_MESSAGE_BYTES: String(MAX_MESSAGE) },
})
const sockets: WebSocket[] = []
const wsUrl = () => `${stack.url('router').replace('http', 'ws')}/graphql`.replace(/\/graphql\/graphql$/, '/graphql')

/** An open socket with the protocol, and everything it receives. */
async function open(): Promise<{
  ws: WebSocket
  messages: Record<string, unknown>[]
  closed: Promise<{ code: number; reason: string }>
}> {
  const ws = new WebSocket(wsUrl(), 'graphql-transport-ws')
  sockets.push(ws)
  const messages: Record<string, unknown>[] = []
  ws.on('message', data => messages.push(JSON.parse(String(data))))
  const closed = new Promise<{ code: number; reason: string }>(resolve =>
    ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
  )
  await new Promise((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
  })
  return { ws, messages, closed }
}

const send = (ws: WebSocket, message: unknown) =>
  ws.send(typeof message === 'string' ? message : JSON.stringify(message))
const nextMessage = (ws: WebSocket) =>
  new Promise<Record<string, unknown>>(resolve => ws.once('message', data => resolve(JSON.parse(String(data)))))

async function acknowledged() {
  const socket = await open()
  const ack = nextMessage(socket.ws)
  send(socket.ws, { type: 'connection_init' })
  expect(await ack).toEqual({ type: 'connection_ack' })
  return socket
}

beforeAll(async () => {
  await stack.start('item', 'reservation', 'payment', 'projections', 'router')
}, 120_000)
afterAll(async () => {
  for (const ws of sockets) ws.terminate()
  await stack.dispose()
})

describe('graphql-transport-ws on /graphql', () => {
  it('refuses an upgrade without the graphql-transport-ws subprotocol, or on another path', async () => {
    const status = (url: string, protocols?: string) =>
      new Promise<number | undefined>(resolve => {
        const ws = new WebSocket(url, protocols)
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode))
        ws.on('open', () => resolve(101))
        ws.on('error', () => undefined)
      })
    expect(await status(wsUrl())).toBe(400)
    expect(await status(wsUrl(), 'graphql-ws')).toBe(400)
    expect(await status(wsUrl().replace('/graphql', '/elsewhere'), 'graphql-transport-ws')).toBe(400)
  })

  it('closes with 4400 on a message that is not one of the protocol', async () => {
    const { ws, closed } = await open()
    send(ws, 'not json')
    expect(await closed).toEqual({ code: 4400, reason: 'Invalid message received' })
    const other = await open()
    send(other.ws, { type: 'subscribe', id: '', payload: { query: '{ __typename }' } })
    expect((await other.closed).code).toBe(4400)
  })

  it('closes with 4401 on subscribe before the acknowledgement', async () => {
    const { ws, closed } = await open()
    send(ws, { type: 'subscribe', id: '1', payload: { query: '{ __typename }' } })
    expect(await closed).toEqual({ code: 4401, reason: 'Unauthorized' })
  })

  it('closes with 4429 on a second connection_init', async () => {
    const { ws, closed } = await acknowledged()
    send(ws, { type: 'connection_init' })
    expect(await closed).toEqual({ code: 4429, reason: 'Too many initialisation requests' })
  })

  it('closes with 4409 on an id already running', async () => {
    const { ws, closed } = await acknowledged()
    const subscribe = {
      type: 'subscribe',
      id: 'live',
      payload: { query: 'subscription { itemInfoChanged { version } }' },
    }
    send(ws, subscribe)
    send(ws, subscribe)
    expect(await closed).toEqual({ code: 4409, reason: 'Subscriber for live already exists' })
  })

  it('closes with 4408 when no connection_init comes within SUBSCRIPTION_INIT_TIMEOUT_MS', async () => {
    const started = Date.now()
    const { closed } = await open()
    expect(await closed).toEqual({ code: 4408, reason: 'Connection initialisation timeout' })
    expect(Date.now() - started).toBeGreaterThanOrEqual(350)
  })

  it('closes with 1009 on a message over SUBSCRIPTION_MAX_MESSAGE_BYTES, and takes one just under it', async () => {
    const { ws, messages, closed } = await acknowledged()
    const query = (size: number) => `{ __typename ${' '.repeat(size)}}`
    // Under the limit: a query over the socket answers with next, then complete.
    send(ws, { type: 'subscribe', id: 'q', payload: { query: query(MAX_MESSAGE - 200) } })
    const until = Date.now() + 10_000
    while (messages.length < 3 && Date.now() < until) await new Promise(r => setTimeout(r, 20))
    expect(messages.slice(1)).toEqual([
      { id: 'q', type: 'next', payload: { data: { __typename: 'Query' } } },
      { id: 'q', type: 'complete' },
    ])
    send(ws, { type: 'subscribe', id: 'big', payload: { query: query(MAX_MESSAGE) } })
    expect((await closed).code).toBe(1009)
  })

  it('answers pings (WebSocket and protocol), and echoes the close code', async () => {
    const { ws, closed } = await acknowledged()
    const pong = new Promise<string>(resolve => ws.once('pong', data => resolve(String(data))))
    ws.ping('are you there')
    expect(await pong).toBe('are you there')
    const reply = nextMessage(ws)
    send(ws, { type: 'ping', payload: { at: 1 } })
    expect(await reply).toEqual({ type: 'pong', payload: { at: 1 } })
    ws.close(4000, 'done')
    expect(await closed).toEqual({ code: 4000, reason: '' })
  })

  it('stops an operation the client completes: nothing more is sent for it', async () => {
    const { ws, messages } = await acknowledged()
    send(ws, { type: 'subscribe', id: 's', payload: { query: 'subscription { itemInfoChanged { version } }' } })
    send(ws, { type: 'complete', id: 's' })
    // The same id may be used again once completed.
    send(ws, { type: 'subscribe', id: 's', payload: { query: '{ __typename }' } })
    const until = Date.now() + 10_000
    while (messages.length < 3 && Date.now() < until) await new Promise(r => setTimeout(r, 20))
    expect(messages.slice(1)).toEqual([
      { id: 's', type: 'next', payload: { data: { __typename: 'Query' } } },
      { id: 's', type: 'complete' },
    ])
  })
})
