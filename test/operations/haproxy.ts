// A real load balancer in front of several instances of one service, playing a Kubernetes Service:
// it sends requests only to instances whose /health/ready answers 200 (checked every 100 ms; two
// failures in a row take an instance out, as the manifests' failureThreshold: 2, one success puts
// it back), and, like kube-proxy, it never retries a request elsewhere: what an instance fails,
// the client sees. HAProxy from Debian; when it is
// missing and we may install packages, it is installed (as .ci/run also does).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { accessSync, constants, writeFileSync } from 'node:fs'
import path from 'node:path'
import { freePort, sleep } from '../harness.js'

export const HAPROXY_CHECK_INTERVAL_MS = 100
export const HAPROXY_CHECK_FALL = 2
/**
 * How long one check may take. Not the interval (HAProxy's default): a readiness check that waits
 * for a pooled database connection behind a busy moment is slow, not failed, and an instance that
 * flaps out of rotation for it leaves the others alone with the load.
 */
const CHECK_TIMEOUT = '2s'

function which(cmd: string): string | null {
  for (const dir of ['/usr/sbin', '/usr/local/sbin', ...(process.env.PATH ?? '').split(':')]) {
    const p = path.join(dir, cmd)
    try {
      accessSync(p, constants.X_OK)
      return p
    } catch {
      // not here
    }
  }
  return null
}

/** The haproxy binary, installing Debian's package when absent and possible; null with the reason otherwise. */
export function ensureHaproxy(): { bin: string } | { missing: string } {
  const found = which('haproxy')
  if (found) return { bin: found }
  if (process.getuid?.() !== 0 || !which('apt-get'))
    return { missing: 'haproxy is not installed and this is not a Debian machine we may install on as root' }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  let r = spawnSync('apt-get', ['install', '-y', '-qq', 'haproxy'], { env, encoding: 'utf8', timeout: 120_000 })
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { env, timeout: 120_000 })
    r = spawnSync('apt-get', ['install', '-y', '-qq', 'haproxy'], { env, encoding: 'utf8', timeout: 120_000 })
  }
  const bin = which('haproxy')
  return bin ? { bin } : { missing: `apt-get install haproxy failed: ${r.stderr}` }
}

export interface Backend {
  name: string
  port: number
}

export class LoadBalancer {
  private child: ChildProcess | undefined
  private output = ''
  private statsPort = 0

  /** `port`: where clients reach it, chosen beforehand so the router can be configured with it. */
  constructor(
    private readonly bin: string,
    private readonly dir: string,
    readonly port: number,
    private readonly backends: Backend[],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/graphql`
  }

  config(): string {
    const inter = HAPROXY_CHECK_INTERVAL_MS
    return [
      'global',
      '  maxconn 2000',
      ...(process.env.HAPROXY_LOG ? ['  log stdout format raw local0'] : []),
      'defaults',
      '  mode http',
      ...(process.env.HAPROXY_LOG ? ['  log global', '  option httplog'] : []),
      '  timeout connect 1s',
      '  timeout client 30s',
      '  timeout server 30s',
      '  timeout http-keep-alive 30s',
      `  timeout check ${CHECK_TIMEOUT}`,
      // A Service does not retry a failed request on another endpoint; neither do we.
      '  retries 0',
      'frontend graphql',
      `  bind 127.0.0.1:${this.port}`,
      '  default_backend instances',
      'backend instances',
      '  balance roundrobin',
      '  option httpchk GET /health/ready',
      '  http-check expect status 200',
      `  default-server check inter ${inter} fastinter ${inter} downinter ${inter} fall ${HAPROXY_CHECK_FALL} rise 1`,
      ...this.backends.map(b => `  server ${b.name} 127.0.0.1:${b.port}`),
      'listen stats',
      `  bind 127.0.0.1:${this.statsPort}`,
      '  stats enable',
      '  stats uri /stats',
      '',
    ].join('\n')
  }

  async start(): Promise<void> {
    this.statsPort = await freePort()
    const file = path.join(this.dir, 'haproxy.cfg')
    writeFileSync(file, this.config())
    // -db: stay in the foreground, so the test owns the process and stops it by its pid.
    const child = spawn(this.bin, ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.child = child
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()))
    await this.waitUntil(s => this.backends.every(b => s.get(b.name) === 'UP'), 10_000)
  }

  /** Backend name → HAProxy's status (UP, DOWN, …) from its CSV statistics. */
  async states(): Promise<Map<string, string>> {
    const res = await fetch(`http://127.0.0.1:${this.statsPort}/stats;csv`)
    const [header, ...rows] = (await res.text()).trim().split('\n')
    const cols = header.replace(/^# /, '').split(',')
    const px = cols.indexOf('pxname')
    const sv = cols.indexOf('svname')
    const st = cols.indexOf('status')
    const states = new Map<string, string>()
    for (const row of rows.map(r => r.split(','))) if (row[px] === 'instances') states.set(row[sv], row[st])
    return states
  }

  /** Polls the statistics until `ok` holds, e.g. an instance is back in rotation. */
  async waitUntil(ok: (states: Map<string, string>) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    let last = ''
    while (Date.now() < deadline) {
      if (this.child && this.child.exitCode !== null) throw new Error(`haproxy exited:\n${this.output}`)
      try {
        const states = await this.states()
        if (ok(states)) return
        last = JSON.stringify([...states])
      } catch (e) {
        last = e instanceof Error ? e.message : String(e)
      }
      await sleep(20)
    }
    throw new Error(`load balancer state not reached within ${timeoutMs} ms; last: ${last}\n${this.output}`)
  }

  /** Its output; with HAPROXY_LOG=1 in the environment, one line per request (`option httplog`). */
  get log(): string {
    return this.output
  }

  async stop(): Promise<void> {
    const child = this.child
    if (!child || child.exitCode !== null) return
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.kill('SIGTERM')
    await exited
  }
}
