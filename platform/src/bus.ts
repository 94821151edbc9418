// The connection to NATS JetStream. A process starts and serves even while NATS is down: the
// connection keeps retrying in the background, outbox rows wait, and readiness says so.
import {
  connect,
  createInbox,
  DiscardPolicy,
  headers as natsHeaders,
  nanos,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type Msg,
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
  /** Replicas, size and age limits of the streams, and when to warn that they fill (NATS_STREAM_*). */
  limits?: StreamLimits
  /** Streams of the service's own beside the event stream, created with it. */
  extraStreams?: StreamSpec[]
}

/** What every stream is created with; from the service's config (readStreamLimits). */
export interface StreamLimits {
  /** Copies of each stream in a JetStream cluster (3 in deploy/k8s; 1 on a single server). */
  replicas: number
  /** Events older than this are dropped (0: kept for ever). */
  maxAgeMs: number
  /** The stream's size limit: past it the oldest events are dropped. */
  maxBytes: number
  /** Window in which JetStream drops a re-published message id. */
  duplicateWindowMs: number
  /** Warn in the logs once a stream reaches this share of its size limit, or its oldest event this share of its age limit. */
  warnRatio: number
  /** How often the streams are looked at for that warning. */
  watchIntervalMs: number
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  replicas: 1,
  maxAgeMs: 90 * 24 * 3600_000,
  maxBytes: 1024 ** 3,
  duplicateWindowMs: 120_000,
  warnRatio: 0.8,
  watchIntervalMs: 60_000,
}

export interface StreamSpec {
  name: string
  subjects: string[]
  /** Messages older than this are dropped; omitted: kept. */
  maxAgeMs?: number
}

export const deadLetterStream = (stream: string) => `${stream}_DEADLETTER`
export const deadLetterSubject = (stream: string, consumer: string) => `${subjectPrefix(stream)}-deadletter.${consumer}`

/** How long a JetStream publish waits for its acknowledgement (nats.js's default for js.publish). */
export const PUBLISH_TIMEOUT_MS = 5_000

/** Where JetStream stored a published message (the original's place for a dropped duplicate). */
export interface Stored {
  seq: number
  duplicate: boolean
}

interface Waiting {
  resolve: (stored: Stored) => void
  reject: (err: Error) => void
  sentAt: number
}

const decoder = new TextDecoder()

/**
 * JetStream publishes whose acknowledgements come back on one subscription of the connection,
 * matched by a token in the reply subject. nats.js's js.publish makes a request of each: its own
 * timer and promise chain, and a "cancelled" error object built for every answer, which was more
 * than half of a publish's CPU. Unanswered publishes fail after PUBLISH_TIMEOUT_MS (a reconnect
 * can lose an answer; the outbox publishes the row again, and JetStream drops it by its id).
 */
export class JetStreamPublisher {
  private readonly inbox: string
  private readonly waiting = new Map<string, Waiting>()
  private next = 0
  private readonly sweep: NodeJS.Timeout

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs = PUBLISH_TIMEOUT_MS,
  ) {
    this.inbox = createInbox()
    nc.subscribe(`${this.inbox}.*`, { callback: (_err, msg) => this.answered(msg) })
    this.sweep = setInterval(() => this.expire(), Math.max(100, timeoutMs / 4))
    this.sweep.unref()
  }

  publish(subject: string, data: string | Uint8Array, msgId: string): Promise<Stored> {
    return new Promise((resolve, reject) => {
      const token = String(++this.next)
      this.waiting.set(token, { resolve, reject, sentAt: Date.now() })
      const h = natsHeaders()
      h.set('Nats-Msg-Id', msgId)
      try {
        this.nc.publish(subject, data, { reply: `${this.inbox}.${token}`, headers: h })
      } catch (err) {
        this.waiting.delete(token)
        reject(err as Error)
      }
    })
  }

  private answered(msg: Msg): void {
    const token = msg.subject.slice(this.inbox.length + 1)
    const w = this.waiting.get(token)
    if (!w) return
    this.waiting.delete(token)
    // A status instead of an answer: nothing stores this subject (503), or another refusal.
    if (msg.headers?.hasError) {
      w.reject(new Error(`JetStream did not store the message: ${msg.headers.description}`))
      return
    }
    try {
      const ack = JSON.parse(decoder.decode(msg.data)) as {
        seq?: number
        duplicate?: boolean
        error?: { description?: string }
      }
      if (ack.error || typeof ack.seq !== 'number')
        throw new Error(`JetStream refused the message: ${ack.error?.description}`)
      w.resolve({ seq: ack.seq, duplicate: ack.duplicate === true })
    } catch (err) {
      w.reject(err as Error)
    }
  }

  private expire(): void {
    const before = Date.now() - this.timeoutMs
    for (const [token, w] of this.waiting)
      if (w.sentAt < before) {
        this.waiting.delete(token)
        w.reject(new Error(`no acknowledgement from JetStream within ${this.timeoutMs} ms`))
      }
  }

  close(): void {
    clearInterval(this.sweep)
    for (const w of this.waiting.values()) w.reject(new Error('the connection to NATS closed'))
    this.waiting.clear()
  }
}

export class EventBus {
  private nc: NatsConnection | undefined
  private js: JetStreamClient | undefined
  private publisher: JetStreamPublisher | undefined
  private jsm: JetStreamManager | undefined
  private streamReady: Promise<void> | undefined
  private closing = false
  private readonly connected: Promise<NatsConnection>
  private readonly listeners: (() => void)[] = []
  private readonly limits: StreamLimits
  private watchTimer: NodeJS.Timeout | undefined

  constructor(private readonly options: BusOptions) {
    this.limits = options.limits ?? DEFAULT_STREAM_LIMITS
    // waitOnFirstConnect: keep trying until NATS is there, then reconnect forever.
    this.connected = connect({
      servers: options.url,
      name: options.name,
      ...options.auth,
      waitOnFirstConnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      // No stack captured for every request (each JetStream publish is one): it showed in profiles.
      noAsyncTraces: true,
    }).then(async nc => {
      this.nc = nc
      this.jsm = await nc.jetstreamManager()
      this.js = nc.jetstream()
      this.publisher = new JetStreamPublisher(nc)
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
      this.watchStreams()
    })
    this.streamReady.catch(() => (this.streamReady = undefined))
    return this.streamReady.then(() => ({ js: this.js!, jsm: this.jsm!, nc: this.nc! }))
  }

  /** The JetStream client if connected, without waiting. */
  client(): JetStreamClient | undefined {
    return this.isConnected() ? this.js : undefined
  }

  /** Publishes to the stream with `msgId` (JetStream drops a second copy); undefined while not connected. */
  publishing(): JetStreamPublisher | undefined {
    return this.isConnected() ? this.publisher : undefined
  }

  private streamConfig({ name, subjects, maxAgeMs }: StreamSpec) {
    const maxAge = maxAgeMs ?? this.limits.maxAgeMs
    return {
      name,
      subjects,
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      num_replicas: this.limits.replicas,
      duplicate_window: nanos(Math.min(this.limits.duplicateWindowMs, maxAge || Infinity)),
      max_age: maxAge ? nanos(maxAge) : 0,
      max_bytes: this.limits.maxBytes,
    }
  }

  private async ensureStream(spec: StreamSpec): Promise<void> {
    const jsm = this.jsm!
    const config = this.streamConfig(spec)
    try {
      await jsm.streams.info(spec.name)
    } catch (err) {
      if ((err as { code?: string }).code !== '404') throw err
      await jsm.streams.add(config).catch(async e => {
        // created concurrently by another process
        if (!String(e).includes('already in use')) throw e
      })
      return
    }
    const { name: _name, retention: _r, storage: _s, ...changeable } = config
    // An existing stream takes the configured limits; a change the server refuses (e.g. replicas on a
    // single server) is logged, and the stream goes on as it is.
    await jsm.streams
      .update(spec.name, changeable)
      .catch(err =>
        this.options.logger.warn(
          { err, stream: spec.name },
          'could not apply the stream limits; keeping the stream as it is',
        ),
      )
  }

  /** Warns, every watch interval, about a stream near its size or age limit: past it, the oldest events are dropped. */
  private watchStreams(): void {
    if (this.watchTimer) return
    const names = [
      this.options.stream,
      deadLetterStream(this.options.stream),
      ...(this.options.extraStreams ?? []).map(s => s.name),
    ]
    this.watchTimer = setInterval(() => {
      void this.checkFill(names).catch(() => undefined)
    }, this.limits.watchIntervalMs)
    this.watchTimer.unref()
  }

  /** The warnings for the streams named (also called by tests). */
  async checkFill(names: string[]): Promise<string[]> {
    const warnings: string[] = []
    const jsm = this.jsm
    if (!jsm || !this.isConnected()) return warnings
    for (const name of names) {
      const { config, state } = await jsm.streams.info(name)
      const ratio = this.limits.warnRatio
      if (config.max_bytes > 0 && state.bytes >= ratio * config.max_bytes)
        warnings.push(`${name} holds ${state.bytes} of its ${config.max_bytes} bytes`)
      const ageMs = state.messages ? Date.now() - new Date(state.first_ts).getTime() : 0
      const maxAgeMs = config.max_age / 1e6
      if (maxAgeMs > 0 && ageMs >= ratio * maxAgeMs)
        warnings.push(`${name}'s oldest event is ${Math.round(ageMs / 1000)} s old of the ${maxAgeMs / 1000} s kept`)
    }
    for (const w of warnings)
      this.options.logger.warn(
        { warning: w },
        'stream near its limit: the oldest events are dropped past it; make sure every consumer keeps up, or raise NATS_STREAM_MAX_BYTES / NATS_STREAM_MAX_AGE_MS',
      )
    return warnings
  }

  async close(): Promise<void> {
    this.closing = true
    clearInterval(this.watchTimer)
    this.publisher?.close()
    if (this.nc && !this.nc.isClosed()) await this.nc.drain().catch(() => this.nc?.close())
  }
}
