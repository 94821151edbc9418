// The connection to NATS JetStream. A process starts and serves even while NATS is down: the
// connection keeps retrying in the background, outbox rows wait, and readiness says so.
import {
  connect,
  nanos,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
} from 'nats'
import { subjectPrefix } from './events.js'
import type { NatsAuth } from './config.js'
import type { Logger } from './logger.js'

export interface BusOptions {
  url: string
  stream: string
  name: string
  logger: Logger
  /** NATS_USER/NATS_PASSWORD or NATS_TOKEN, when the server requires them. */
  auth?: NatsAuth
  /** Window in which JetStream drops a re-published message id. */
  duplicateWindowMs?: number
  /** Streams of the service's own beside the event stream, created with it. */
  extraStreams?: StreamSpec[]
}

export interface StreamSpec {
  name: string
  subjects: string[]
  /** Messages older than this are dropped; omitted: kept. */
  maxAgeMs?: number
}

export const deadLetterStream = (stream: string) => `${stream}_DEADLETTER`
export const deadLetterSubject = (stream: string, consumer: string) => `${subjectPrefix(stream)}-deadletter.${consumer}`

export class EventBus {
  private nc: NatsConnection | undefined
  private js: JetStreamClient | undefined
  private jsm: JetStreamManager | undefined
  private streamReady: Promise<void> | undefined
  private closing = false
  private readonly connected: Promise<NatsConnection>
  private readonly listeners: (() => void)[] = []

  constructor(private readonly options: BusOptions) {
    // waitOnFirstConnect: keep trying until NATS is there, then reconnect forever.
    this.connected = connect({
      servers: options.url,
      name: options.name,
      ...options.auth,
      waitOnFirstConnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    }).then(async nc => {
      this.nc = nc
      this.jsm = await nc.jetstreamManager()
      this.js = nc.jetstream()
      options.logger.info({ url: options.url }, 'connected to NATS')
      void this.watchStatus(nc)
      for (const l of this.listeners) l()
      return nc
    })
    this.connected.catch(err => options.logger.error({ err }, 'NATS connection failed'))
  }

  get stream(): string {
    return this.options.stream
  }

  /** True while connected; the readiness check. */
  isConnected(): boolean {
    return !!this.nc && !this.nc.isClosed() && !this.closing && this.reconnecting === false
  }

  private reconnecting = false
  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnecting') this.reconnecting = true
      if (s.type === 'reconnect') {
        this.reconnecting = false
        this.options.logger.info('reconnected to NATS')
        for (const l of this.listeners) l()
      }
    }
  }

  /** Called on every (re)connection: relays use it to publish what waited. */
  onConnect(listener: () => void): void {
    this.listeners.push(listener)
    if (this.nc) listener()
  }

  /** Resolves once connected, without touching JetStream: for core NATS subscribers such as the router. */
  connection(): Promise<NatsConnection> {
    return this.connected
  }

  /** Resolves once connected and the stream (and its dead-letter stream) exist; creates them idempotently. */
  ready(): Promise<{ js: JetStreamClient; jsm: JetStreamManager; nc: NatsConnection }> {
    this.streamReady ??= this.connected.then(async () => {
      const { stream } = this.options
      await this.ensureStream({ name: stream, subjects: [`${subjectPrefix(stream)}.>`] })
      await this.ensureStream({ name: deadLetterStream(stream), subjects: [`${subjectPrefix(stream)}-deadletter.>`] })
      for (const extra of this.options.extraStreams ?? []) await this.ensureStream(extra)
    })
    this.streamReady.catch(() => (this.streamReady = undefined))
    return this.streamReady.then(() => ({ js: this.js!, jsm: this.jsm!, nc: this.nc! }))
  }

  /** The JetStream client if connected, without waiting. */
  client(): JetStreamClient | undefined {
    return this.isConnected() ? this.js : undefined
  }

  private async ensureStream({ name, subjects, maxAgeMs }: StreamSpec): Promise<void> {
    const jsm = this.jsm!
    const config = {
      name,
      subjects,
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      duplicate_window: nanos(Math.min(this.options.duplicateWindowMs ?? 120_000, maxAgeMs ?? Infinity)),
      max_age: maxAgeMs ? nanos(maxAgeMs) : 0,
    }
    try {
      await jsm.streams.info(name)
      await jsm.streams.update(name, { subjects, duplicate_window: config.duplicate_window, max_age: config.max_age })
    } catch (err) {
      if ((err as { code?: string }).code !== '404') throw err
      await jsm.streams.add(config).catch(async e => {
        // created concurrently by another process
        if (!String(e).includes('already in use')) throw e
      })
    }
  }

  async close(): Promise<void> {
    this.closing = true
    if (this.nc && !this.nc.isClosed()) await this.nc.drain().catch(() => this.nc?.close())
  }
}
