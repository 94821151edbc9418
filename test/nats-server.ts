// A nats-server of the test's own (free port, own store directory), so a test can stop and restart
// NATS without touching the shared one.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { freePort, sleep } from './harness.js'

const BINARY =
  ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find(existsSync) ?? 'nats-server'

export class OwnNatsServer {
  private child: ChildProcess | undefined
  private readonly storeDir = mkdtempSync(path.join(os.tmpdir(), 'gdmarket-nats-'))
  private constructor(
    readonly port: number,
    private readonly extraArgs: string[],
  ) {}

  /** `extraArgs` go to nats-server as given, e.g. `['--user', 'u', '--pass', 'p']` to require credentials. */
  static async start(extraArgs: string[] = []): Promise<OwnNatsServer> {
    const server = new OwnNatsServer(await freePort(), extraArgs)
    await server.resume()
    return server
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`
  }

  /** Starts (again) on the same port and store, so JetStream keeps its streams and consumers. */
  async resume(): Promise<void> {
    this.child = spawn(
      BINARY,
      ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir, ...this.extraArgs],
      {
        stdio: 'ignore',
      },
    )
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline) {
      const res = await fetch(`http://127.0.0.1:${this.port}`).catch((e: Error) => e)
      // nats-server speaks its own protocol: an HTTP request gets a reply or a reset, not a refusal.
      if (!(res instanceof Error) || !String(res.cause).includes('ECONNREFUSED')) return
      await sleep(50)
    }
    throw new Error('nats-server did not start')
  }

  async stop(): Promise<void> {
    const child = this.child
    if (!child || child.exitCode !== null) return
    const exited = new Promise(r => child.once('exit', r))
    child.kill('SIGKILL')
    await exited
  }

  async dispose(): Promise<void> {
    await this.stop()
    rmSync(this.storeDir, { recursive: true, force: true })
  }
}
