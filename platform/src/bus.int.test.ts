// NATS that requires credentials, as deploy/ runs it: the bus connects with NATS_USER/NATS_PASSWORD
// (or a token) and publishes; without them nothing connects, so nothing else can publish an event.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { connect } from 'nats'
import { OwnNatsServer } from '../../test/nats-server.js'
import { sleep } from '../../test/harness.js'
import { EventBus, JetStreamPublisher } from './bus.js'
import { readConfig, readNatsAuth } from './config.js'
import { createLogger } from './logger.js'

const logger = createLogger('bus-test', 'silent')
const servers: OwnNatsServer[] = []
let withPassword: OwnNatsServer
let withToken: OwnNatsServer

beforeAll(async () => {
  withPassword = await OwnNatsServer.start(['--user', 'gdmarket', '--pass', 'a-nats-password'])
  withToken = await OwnNatsServer.start(['--auth', 'a-nats-token'])
  servers.push(withPassword, withToken)
})
afterAll(() => Promise.all(servers.map(s => s.dispose())))

const auth = (env: NodeJS.ProcessEnv) => readConfig(readNatsAuth, env)

describe('JetStreamPublisher', () => {
  it('answers where JetStream stored each message, drops a second copy by its id, and fails what nothing stores', async () => {
    const server = await OwnNatsServer.start([])
    servers.push(server)
    const bus = new EventBus({ url: server.url, stream: 'PUBTEST', name: 'test', logger })
    try {
      await bus.ready()
      const publisher = bus.publishing()!
      const stored = await Promise.all(['a', 'b', 'c'].map(id => publisher.publish('pubtest.item.Probe', id, id)))
      expect(stored).toEqual([1, 2, 3].map(seq => ({ seq, duplicate: false })))
      expect(await publisher.publish('pubtest.item.Probe', 'b again', 'b')).toEqual({ seq: 2, duplicate: true })
      await expect(publisher.publish('nowhere.item.Probe', 'x', 'x')).rejects.toThrow(/did not store/)
    } finally {
      await bus.close()
    }
  })

  it('fails a publish that no acknowledgement answers in time', async () => {
    const nc = await connect({ servers: withToken.url, token: 'a-nats-token' })
    // A subscriber that never answers stands in for a stream that stores but whose answer is lost.
    nc.subscribe('silent.>', { callback: () => undefined })
    const publisher = new JetStreamPublisher(nc, 300)
    try {
      await expect(publisher.publish('silent.x', 'x', 'x')).rejects.toThrow(/within 300 ms/)
    } finally {
      publisher.close()
      await nc.close()
    }
  })
})

describe('NATS credentials', () => {
  it('connects and publishes with NATS_USER/NATS_PASSWORD or NATS_TOKEN from the environment', async () => {
    for (const [server, env] of [
      [withPassword, { NATS_USER: 'gdmarket', NATS_PASSWORD: 'a-nats-password' }],
      [withToken, { NATS_TOKEN: 'a-nats-token' }],
    ] as const) {
      const bus = new EventBus({ url: server.url, stream: 'AUTHTEST', name: 'test', logger, auth: auth(env) })
      try {
        const { js } = await bus.ready()
        expect((await js.publish('authtest.item.Probe', new Uint8Array([1]))).seq).toBe(1)
        expect(bus.isConnected()).toBe(true)
      } finally {
        await bus.close()
      }
    }
  })

  it('without them, or with wrong ones, nothing connects and nothing can be published', async () => {
    await expect(connect({ servers: withPassword.url, reconnect: false })).rejects.toThrow(/Authorization/i)
    await expect(
      connect({ servers: withPassword.url, user: 'gdmarket', pass: 'wrong', reconnect: false }),
    ).rejects.toThrow(/Authorization/i)
    await expect(connect({ servers: withToken.url, reconnect: false })).rejects.toThrow(/Authorization/i)
    // The bus keeps trying (as it does while NATS is down) and stays not ready.
    const bus = new EventBus({ url: withPassword.url, stream: 'AUTHTEST', name: 'test', logger })
    await sleep(1500)
    expect(bus.isConnected()).toBe(false)
    expect(bus.client()).toBeUndefined()
    void bus.close()
  })

  it('refuses a half-configured or doubly configured environment at start', () => {
    expect(auth({})).toEqual({})
    expect(() => auth({ NATS_USER: 'gdmarket' })).toThrow(/NATS_USER and NATS_PASSWORD/)
    expect(() => auth({ NATS_PASSWORD: 'x' })).toThrow(/NATS_USER and NATS_PASSWORD/)
    expect(() => auth({ NATS_TOKEN: 't', NATS_USER: 'u', NATS_PASSWORD: 'p' })).toThrow(/either NATS_TOKEN/)
  })
})
