// The HTTP side every GDmarket process shares: /graphql through Apollo Server, /health/live and
// /health/ready, a correlation id on every request, a body size limit, and a graceful SIGTERM:
// not-ready at once, keep serving for the grace period, finish in-flight work, exit 0.
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { randomUUID } from 'node:crypto'
import { type ApolloServer, HeaderMap, type ApolloServerPlugin, type BaseContext } from '@apollo/server'
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer'
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled'
import {
  ApolloServerPluginLandingPageLocalDefault,
  ApolloServerPluginLandingPageProductionDefault,
} from '@apollo/server/plugin/landingPage/default'
import { unwrapResolverError } from '@apollo/server/errors'
import type { GraphQLFormattedError } from 'graphql'
import type { ServiceConfig } from './config.js'
import { AppError } from './errors.js'
import { isOutage } from './outage.js'
import { Health } from './health.js'
import { CORRELATION_HEADER } from './identity.js'
import type { Logger } from './logger.js'

export interface RequestBase {
  correlationId: string
  logger: Logger
  headers: IncomingMessage['headers']
  /** The peer's address (a proxy's, behind one). */
  remoteAddress: string | undefined
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void

export interface HttpServiceOptions<Ctx extends BaseContext> {
  config: ServiceConfig
  logger: Logger
  /** Builds the Apollo Server from the options every GDmarket server shares (spread them, then add its own). */
  apollo: (shared: SharedApolloOptions<Ctx>) => ApolloServer<Ctx>
  context: (base: RequestBase) => Promise<Ctx> | Ctx
  /** Extra routes by "METHOD /path"; "METHOD /prefix/*" matches every path under the prefix. */
  routes?: Record<string, RouteHandler>
  /** Largest accepted request body. */
  maxBodyBytes?: number
  /**
   * Who may use /graphql at all (health endpoints stay open): a request it refuses gets 403 and
   * FORBIDDEN before its body is read. Subgraphs admit only GDmarket's own processes.
   */
  admit?: (headers: IncomingMessage['headers']) => boolean
  /**
   * Runs first for /graphql and /: may set response headers (CORS), and answers the request itself
   * when it returns true (a CORS preflight).
   */
  intercept?: (req: IncomingMessage, res: ServerResponse) => boolean
}

export interface HttpService {
  readonly httpServer: http.Server
  readonly health: Health
  readonly logger: Logger
  /** Listens; resolves with the bound port. */
  start(): Promise<number>
  /** Stops serving: not-ready, grace period, drain in-flight requests, then every `onStop` hook in reverse order. */
  stop(): Promise<void>
  /** Registers work to do on stop after HTTP is drained (consumers, relays, database pools). */
  onStop(hook: () => Promise<void> | void): void
  /**
   * Registers work to do once the grace period is over, before HTTP drains: closing long-lived
   * connections (WebSockets) that the drain would otherwise wait on until its timeout.
   */
  onStopping(hook: () => Promise<void> | void): void
}

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024
export const REFUSED_MESSAGE = 'this service answers only GDmarket itself; send requests to the router'
const MAX_DEBUG_BLOCK_MS = 60_000

/** Test-only: `POST /debug/block?ms=` busy-waits on the event loop, to show liveness catching a wedged process. */
function debugRoutes(): Record<string, RouteHandler> {
  return {
    'POST /debug/block': (req, res) => {
      const ms = Number(new URL(req.url ?? '/', 'http://localhost').searchParams.get('ms'))
      if (!Number.isInteger(ms) || ms < 0 || ms > MAX_DEBUG_BLOCK_MS) {
        res.writeHead(400).end()
        return
      }
      const until = Date.now() + ms
      while (Date.now() < until) {
        // deliberately wedged: nothing else runs on this process meanwhile
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ blockedMs: ms }))
    },
  }
}

/** The Apollo Server options every GDmarket server (subgraphs and router) sets the same way, in one place. */
export interface SharedApolloOptions<Ctx extends BaseContext> {
  /** Drain on stop, the landing page (Sandbox outside production), no inline traces (nobody reads them). */
  plugins: ApolloServerPlugin<Ctx>[]
  formatError: ReturnType<typeof formatError>
  logger: Logger
  /** Sandbox needs introspection; production exposes neither. */
  introspection: boolean
  includeStacktraceInErrorResponses: boolean
  /** The platform owns SIGTERM (grace period, then drain); Apollo's own handler would exit at once. */
  stopOnTerminationSignals: false
}

/**
 * Maps errors to the contract: AppError keeps its code; a database or service that is down for now
 * is SERVICE_UNAVAILABLE ("try again later"); anything else unexpected is logged and hidden.
 */
export function formatError(logger: Logger, mode: ServiceConfig['mode']) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error)
    if (original instanceof AppError) {
      return {
        message: original.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code: original.code },
      }
    }
    if (isOutage(original)) {
      logger.warn({ err: original }, 'a dependency is unavailable')
      return {
        message: 'a service this needs is unavailable, try again later',
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code: 'SERVICE_UNAVAILABLE' },
      }
    }
    const code = formatted.extensions?.code
    if (typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR') {
      if (mode === 'development') return formatted
      const { stacktrace: _drop, ...extensions } = formatted.extensions ?? {}
      return { ...formatted, extensions }
    }
    logger.error({ err: original }, 'unexpected error')
    if (mode === 'development') return formatted
    return {
      message: 'Internal server error',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    }
  }
}

type Hook = () => Promise<void> | void

export function createHttpService<Ctx extends BaseContext>(options: HttpServiceOptions<Ctx>): HttpService {
  const { config, logger } = options
  const health = new Health(config.livenessMaxEventLoopDelayMs, 2000, logger, config.livenessBlockedWindowMs)
  const stopHooks: Hook[] = []
  const stoppingHooks: Hook[] = []
  const routes: Record<string, RouteHandler> = {
    'GET /health/live': (_req, res) => sendJson(res, health.live()),
    'GET /health/ready': async (_req, res) => sendJson(res, await health.ready()),
    ...(config.debugRoutes ? debugRoutes() : {}),
    ...options.routes,
  }
  // Requests arrive only once started, by which time apollo below exists.
  const handle = requestHandler(options, routes, health, () => apollo)

  const httpServer = http.createServer((req, res) => {
    handle(req, res).catch(err => {
      logger.error({ err }, 'request failed')
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' })
      res.end(errorBody('INTERNAL_SERVER_ERROR', 'Internal server error'))
    })
  })
  httpServer.keepAliveTimeout = 65_000 // longer than common load balancer idle timeouts
  httpServer.on('clientError', answerClientError)
  const apollo = options.apollo(sharedApolloOptions<Ctx>(httpServer, config, logger))

  let stopping: Promise<void> | undefined
  return {
    httpServer,
    health,
    logger,
    onStop: hook => void stopHooks.push(hook),
    onStopping: hook => void stoppingHooks.push(hook),
    async start() {
      await apollo.start()
      const port = await listen(httpServer, config)
      health.markStarted()
      logger.info({ port }, `${config.service} listening`)
      return port
    },
    stop() {
      stopping ??= stopInOrder({ config, logger, health, apollo, stoppingHooks, stopHooks })
      return stopping
    },
  }
}

/** Routes first, then /graphql (and /): correlation id, CORS, admission, the body, then Apollo. */
function requestHandler<Ctx extends BaseContext>(
  options: HttpServiceOptions<Ctx>,
  routes: Record<string, RouteHandler>,
  health: Health,
  apollo: () => ApolloServer<Ctx>,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  return async (req, res) => {
    // While draining, tell keep-alive clients to open their next request elsewhere.
    if (health.isStopping) res.setHeader('connection', 'close')
    const url = new URL(req.url ?? '/', 'http://localhost')
    const route = routes[`${req.method} ${url.pathname}`] ?? prefixRoute(routes, req.method, url.pathname)
    if (route) return route(req, res)
    if (url.pathname !== '/graphql' && url.pathname !== '/') {
      res.writeHead(404).end()
      return
    }
    const correlationId = headerValue(req, CORRELATION_HEADER) ?? randomUUID()
    res.setHeader(CORRELATION_HEADER, correlationId)
    if (options.intercept?.(req, res)) return
    if (options.admit && !options.admit(req.headers)) {
      req.resume() // drain the body unread so the connection can be reused
      sendError(res, 403, 'FORBIDDEN', REFUSED_MESSAGE)
      return
    }
    const body = await readJsonBody(req, res, maxBodyBytes)
    if (body === ANSWERED) return
    await executeGraphQL(apollo(), req, res, url, body, () =>
      options.context({
        correlationId,
        logger: options.logger.child({ correlationId }),
        headers: req.headers,
        remoteAddress: req.socket.remoteAddress,
      }),
    )
  }
}

/** Resolves with the bound port (config.port 0: one the system chose). */
async function listen(httpServer: http.Server, config: ServiceConfig): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject)
    httpServer.listen(config.port, config.host, () => resolve())
  })
  const address = httpServer.address()
  return typeof address === 'object' && address ? address.port : config.port
}

/** Not ready at once, serve through the grace period, close long-lived connections, drain HTTP, then the hooks. */
async function stopInOrder(s: {
  config: ServiceConfig
  logger: Logger
  health: Health
  apollo: Pick<ApolloServer<BaseContext>, 'stop'>
  stoppingHooks: Hook[]
  stopHooks: Hook[]
}): Promise<void> {
  const { config, logger, health } = s
  health.markStopping()
  logger.info({ graceMs: config.shutdownGraceMs }, 'stopping: not ready any more')
  if (config.shutdownGraceMs > 0) await new Promise(r => setTimeout(r, config.shutdownGraceMs))
  await runHooks(s.stoppingHooks, logger)
  await s.apollo.stop()
  await runHooks([...s.stopHooks].reverse(), logger)
  health.dispose()
  logger.info('stopped')
}

function sharedApolloOptions<Ctx extends BaseContext>(
  httpServer: http.Server,
  config: ServiceConfig,
  logger: Logger,
): SharedApolloOptions<Ctx> {
  return {
    logger,
    formatError: formatError(logger, config.mode),
    introspection: config.mode !== 'production',
    includeStacktraceInErrorResponses: config.mode === 'development',
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: config.shutdownTimeoutMs }),
      config.mode === 'production'
        ? ApolloServerPluginLandingPageProductionDefault({ footer: false })
        : ApolloServerPluginLandingPageLocalDefault({ footer: false, embed: true }),
      // Federated traces are for Apollo's hosted reporting, which GDmarket does not use; also quiets
      // the "Enabling inline tracing" line every subgraph would log at start.
      ApolloServerPluginInlineTraceDisabled(),
    ],
  }
}

const errorBody = (code: string, message: string) => JSON.stringify({ errors: [{ message, extensions: { code } }] })

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(errorBody(code, message))
}

/**
 * Requests Node's parser refuses before any handler runs (a URL or headers over its 16 KiB, a
 * malformed request line) still get a JSON answer with a contract code, not an empty one.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW'
  const body = errorBody('BAD_USER_INPUT', tooLarge ? 'request headers or URL too large' : 'malformed HTTP request')
  socket.end(
    `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  )
}

/** Returned when the request was already answered (too large, not JSON). */
const ANSWERED = Symbol('answered')

/** The request's JSON body (undefined when empty), or ANSWERED after a 413 or 400 with a contract code. */
async function readJsonBody(
  req: IncomingMessage,
  res: ServerResponse,
  maxBodyBytes: number,
): Promise<unknown | typeof ANSWERED> {
  const body = await readBody(req, maxBodyBytes)
  if (body === 'too-large') {
    sendError(res, 413, 'BAD_USER_INPUT', `request body over ${maxBodyBytes} bytes`)
    return ANSWERED
  }
  if (!body.length) return undefined
  try {
    return JSON.parse(body)
  } catch {
    sendError(res, 400, 'BAD_USER_INPUT', 'request body is not JSON')
    return ANSWERED
  }
}

/** Runs the request through Apollo Server and writes its answer, streamed when Apollo streams it. */
async function executeGraphQL<Ctx extends BaseContext>(
  apollo: ApolloServer<Ctx>,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  body: unknown,
  context: () => Promise<Ctx> | Ctx,
): Promise<void> {
  const headers = new HeaderMap()
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v)
  const result = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method?.toUpperCase() ?? 'GET', headers, search: url.search, body },
    context: async () => context(),
  })
  for (const [k, v] of result.headers) res.setHeader(k, v)
  res.statusCode = result.status ?? 200
  if (result.body.kind === 'complete') {
    res.end(result.body.string)
    return
  }
  for await (const chunk of result.body.asyncIterator) res.write(chunk)
  res.end()
}

/** Runs hooks one after another; one failing does not keep the others from running. */
async function runHooks(hooks: Hook[], logger: Logger): Promise<void> {
  for (const hook of hooks) {
    try {
      await hook()
    } catch (err) {
      logger.error({ err }, 'error while stopping')
    }
  }
}

/** Starts a service and stops it on SIGTERM/SIGINT; a failure to start exits 1 with the reason. */
export async function runUntilSignal(
  service: Pick<HttpService, 'start' | 'stop' | 'logger'>,
  deadlineMs = 30_000,
): Promise<void> {
  const { logger } = service
  const stop = (signal: string) => {
    logger.info({ signal }, 'signal received')
    const force = setTimeout(() => {
      logger.error('shutdown took too long, exiting')
      process.exit(1)
    }, deadlineMs)
    force.unref()
    service.stop().then(
      () => process.exit(0),
      err => {
        logger.error({ err }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', () => stop('SIGTERM'))
  process.once('SIGINT', () => stop('SIGINT'))
  await service.start()
}

/** Entry-point wrapper: runs main and exits 1 with a readable message if it throws. */
export function main(run: () => Promise<void>): void {
  run().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err)
    if (err instanceof Error && err.name !== 'ConfigError') console.error(err.stack)
    process.exit(1)
  })
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name]
  const s = Array.isArray(v) ? v[0] : v
  return s && s.length <= 200 ? s : undefined
}

/** The route of the longest "METHOD /prefix/*" key that `pathname` starts with. */
function prefixRoute(routes: Record<string, RouteHandler>, method = 'GET', pathname: string): RouteHandler | undefined {
  let best: string | undefined
  for (const key of Object.keys(routes)) {
    if (!key.endsWith('/*') || !key.startsWith(`${method} `)) continue
    const prefix = key.slice(method.length + 1, -1)
    if (pathname.startsWith(prefix) && (!best || key.length > best.length)) best = key
  }
  return best ? routes[best] : undefined
}

function sendJson(res: ServerResponse, report: { ok: boolean }): void {
  res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json' })
  res.end(JSON.stringify(report))
}

function readBody(req: IncomingMessage, limit: number): Promise<string | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let tooLarge = false
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > limit) tooLarge = true
      else chunks.push(c)
    })
    req.on('end', () => resolve(tooLarge ? 'too-large' : Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}
