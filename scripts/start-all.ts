// `npm start`: the whole supergraph on the default ports (the service catalogue's), for a person
// at a terminal. `npm start` runs scripts/infra.sh first (PostgreSQL, NATS, Redis up). This starts
// the subgraphs and projections (each migrates its database first), says when each is ready,
// then starts the router and prints one banner with every URL. On a terminal the services' JSON
// log lines are shown coloured and readable (pino-pretty); otherwise as they are, prefixed with
// the process name. Ctrl-C / SIGTERM is passed on to every child; if one dies on its own, the
// others are stopped and this exits 1.
import { execFileSync, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import readline from 'node:readline'
import { prettyFactory } from 'pino-pretty'
import { logFormat, PRETTY_OPTIONS } from '@gdmarket/platform/logger'
import { spawnNode, waitReady, type Child } from '@gdmarket/platform/spawn'
import { ROUTER, SERVICES, SUBGRAPH_NAMES, type ServiceName } from '@gdmarket/contracts/services'

const root = path.resolve(import.meta.dirname, '..')
const READY_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 40_000 // longer than a child's own shutdown deadline (30 s)
const NAME_WIDTH = 11

const children = new Map<ServiceName, ChildProcess>()
let stopping = false
let exitCode = 0

// The name is already each line's prefix.
const pretty =
  logFormat(process.stdout) === 'pretty'
    ? prettyFactory({ ...PRETTY_OPTIONS, ignore: `${PRETTY_OPTIONS.ignore},service` })
    : null

function log(message: string): void {
  console.log(`${'start-all'.padEnd(NAME_WIDTH)} | ${message}`)
}

/** One child output line: readable on a terminal when it is a JSON log record, as it is otherwise. */
function show(name: string, line: string): void {
  let text = line
  if (pretty && line.startsWith('{')) {
    try {
      text = pretty(JSON.parse(line)).trimEnd()
    } catch {
      // not JSON after all: shown as it is
    }
  }
  process.stdout.write(`${name.padEnd(NAME_WIDTH)} | ${text}\n`)
}

function start(name: ServiceName): Child {
  // Each child gets its own port explicitly, so a PORT in our environment cannot clash them.
  const proc = spawnNode(['--import', 'tsx/esm', SERVICES[name].entry], {
    cwd: root,
    env: { ...process.env, PORT: String(SERVICES[name].port) },
  })
  const { child } = proc
  children.set(name, child)
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) readline.createInterface({ input: stream }).on('line', line => show(name, line))
  }
  child.on('exit', (code, signal) => {
    children.delete(name)
    if (!stopping) {
      log(`${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping the others`)
      exitCode = 1
      stopAll()
    } else if (code !== 0) {
      log(`${name} stopped with ${signal ?? `code ${code}`}`)
      exitCode = 1
    }
    if (children.size === 0) process.exit(exitCode)
  })
  return proc
}

/** Starts the services and says, per service, when it is ready; false when one is not in time. */
async function startReady(names: readonly ServiceName[]): Promise<boolean> {
  const started = Date.now()
  const results = await Promise.all(
    names.map(async name => {
      const proc = start(name)
      try {
        const ready = await waitReady(proc, `http://127.0.0.1:${SERVICES[name].port}/health/ready`, {
          name,
          timeoutMs: READY_TIMEOUT_MS,
          intervalMs: 300,
          probeTimeoutMs: 1000,
          cancelled: () => stopping,
        })
        if (ready) log(`${name} ready (${((Date.now() - started) / 1000).toFixed(1)} s)`)
        return ready
      } catch (err) {
        log(err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err))
        return false
      }
    }),
  )
  return results.every(Boolean)
}

function stopAll(): void {
  if (stopping) return
  stopping = true
  if (children.size === 0) process.exit(exitCode)
  log(`stopping ${[...children.keys()].join(', ')}`)
  for (const child of children.values()) child.kill('SIGTERM')
  setTimeout(() => {
    log(`still running after ${STOP_TIMEOUT_MS} ms, killing ${[...children.keys()].join(', ')}`)
    for (const child of children.values()) child.kill('SIGKILL')
  }, STOP_TIMEOUT_MS).unref()
}

function banner(): string {
  const url = (port: number, p = '/graphql') => `http://localhost:${port}${p}`
  return [
    '',
    '  GDmarket is up.',
    '',
    `  Web app            ${url(ROUTER.port, '/')}   (open it in two browser windows: owner and renter)`,
    `  GraphQL (router)   ${url(ROUTER.port)}`,
    `  Sandbox            ${url(ROUTER.port)}   (open it in a browser)`,
    ...SUBGRAPH_NAMES.map(n => `  ${`${n} health`.padEnd(18)} ${url(SERVICES[n].port, '/health/ready')}`),
    '',
    '  Queries of the catalogue need no token; mutations do. Get one with',
    '    npm run token -- owner-1 Olivia owner',
    '    npm run token -- renter-1 YoungEun renter',
    '  and send it as `Authorization: Bearer <token>` (in Sandbox: the Headers tab).',
    '  Ctrl-C stops everything.',
    '',
  ].join('\n')
}

process.on('SIGINT', stopAll)
process.on('SIGTERM', stopAll)
// The web app the router serves at `/`: built now, so what runs is what the source says (~5 s).
log('building the web app (web/ → web/dist)')
try {
  execFileSync('npm', ['run', 'build', '-w', 'web', '--silent'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })
} catch {
  log('the web app did not build (errors above); the router serves the API without it')
}
log(`starting ${SUBGRAPH_NAMES.join(', ')} (each migrates its database first)`)
if ((await startReady(SUBGRAPH_NAMES)) && (await startReady(['router']))) console.log(banner())
else if (!stopping) {
  exitCode = 1
  stopAll()
}
