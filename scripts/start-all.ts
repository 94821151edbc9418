// `npm start`: the whole supergraph on the default ports, for local development.
// Checks that PostgreSQL and NATS answer, starts the subgraphs and projections, waits until they
// are ready, then starts the router. Every output line is prefixed with its process name.
// Ctrl-C / SIGTERM is passed on to every child; if one of them dies on its own, the others are
// stopped and this exits 1.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import readline from 'node:readline'

interface Proc {
  name: string
  entry: string
  port: number
}

const root = path.resolve(import.meta.dirname, '..')
const backends: Proc[] = [
  { name: 'item', entry: 'subgraphs/item/src/main.ts', port: 4001 },
  { name: 'reservation', entry: 'subgraphs/reservation/src/main.ts', port: 4002 },
  { name: 'payment', entry: 'subgraphs/payment/src/main.ts', port: 4003 },
  { name: 'projections', entry: 'projections/src/main.ts', port: 4004 },
]
const router: Proc = { name: 'router', entry: 'router/src/main.ts', port: 4000 }
const READY_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 40_000 // longer than a child's own shutdown deadline (30 s)

const children = new Map<string, ChildProcess>()
let stopping = false
let exitCode = 0

function log(message: string): void {
  console.log(`${'start-all'.padEnd(11)} | ${message}`)
}

function reachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise(resolve => {
    const socket = net.connect({ host, port, timeout: timeoutMs })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.once('connect', () => done(true))
    socket.once('timeout', () => done(false))
    socket.once('error', () => done(false))
  })
}

async function checkInfrastructure(): Promise<boolean> {
  const nats = new URL(process.env.NATS_URL ?? 'nats://127.0.0.1:4222')
  const natsPort = Number(nats.port || 4222)
  const needs = [
    {
      what: 'PostgreSQL',
      host: '127.0.0.1',
      port: 5432,
      how: [
        'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start   # Debian, installed',
        'apt-get install -y postgresql                                             # Debian, not installed',
        'docker compose up -d postgres                                             # with Docker',
      ],
    },
    {
      what: 'NATS with JetStream',
      host: nats.hostname,
      port: natsPort,
      how: [
        `nats-server -js -a 127.0.0.1 -p ${natsPort} -sd ./data/nats &                   # installed (apt-get install -y nats-server)`,
        'docker compose up -d nats                                                 # with Docker',
      ],
    },
  ]
  let ok = true
  for (const need of needs) {
    if (await reachable(need.host, need.port)) continue
    ok = false
    log(`${need.what} is not reachable at ${need.host}:${need.port}. Start it with one of:`)
    for (const line of need.how) log(`    ${line}`)
  }
  return ok
}

function start(proc: Proc): void {
  const child = spawn(process.execPath, ['--import', 'tsx', proc.entry], {
    cwd: root,
    // Each child gets its own port explicitly, so a PORT in our environment cannot clash them.
    env: { ...process.env, PORT: String(proc.port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.set(proc.name, child)
  const prefix = `${proc.name.padEnd(11)} | `
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream! }).on('line', line => process.stdout.write(`${prefix}${line}\n`))
  }
  child.on('exit', (code, signal) => {
    children.delete(proc.name)
    if (!stopping) {
      log(`${proc.name} exited unexpectedly (${signal ?? `code ${code}`}); stopping the others`)
      exitCode = 1
      stopAll()
    } else if (code !== 0) {
      log(`${proc.name} stopped with ${signal ?? `code ${code}`}`)
      exitCode = 1
    }
    if (children.size === 0) process.exit(exitCode)
  })
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

async function isReady(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(1000) })
    return res.ok
  } catch {
    return false
  }
}

async function waitUntilReady(procs: Proc[]): Promise<boolean> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  let waiting = procs
  while (waiting.length && !stopping) {
    if (Date.now() > deadline) {
      log(`not ready after ${READY_TIMEOUT_MS / 1000} s: ${waiting.map(p => p.name).join(', ')}`)
      return false
    }
    await new Promise(r => setTimeout(r, 300))
    const ready = await Promise.all(waiting.map(p => isReady(p.port)))
    waiting = waiting.filter((_, i) => !ready[i])
  }
  return !stopping
}

const missing = [...backends, router].filter(p => !existsSync(path.join(root, p.entry)))
if (missing.length) {
  log(`missing entry points: ${missing.map(p => p.entry).join(', ')}`)
  process.exit(1)
}
if (!(await checkInfrastructure())) process.exit(1)

process.on('SIGINT', stopAll)
process.on('SIGTERM', stopAll)
backends.forEach(start)
if (await waitUntilReady(backends)) {
  start(router)
  if (await waitUntilReady([router])) log(`supergraph ready: http://127.0.0.1:${router.port}/graphql`)
  else {
    exitCode = 1
    stopAll()
  }
} else if (!stopping) {
  exitCode = 1
  stopAll()
}
