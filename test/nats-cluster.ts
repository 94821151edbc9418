// A 3-node JetStream cluster on loopback, of the test's own (free client and cluster ports, a store
// directory per node), so a test can kill one node under load and bring it back with its store.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { connect } from 'nats'
import { freePort, sleep } from './harness.js'

const BINARY =
  ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find(existsSync) ?? 'nats-server'

interface Node {
  name: string
  port: number
  clusterPort: number
  storeDir: string
  child?: ChildProcess
}

export class NatsCluster {
  private constructor(
    private readonly nodes: Node[],
    private readonly clusterName: string,
  ) {}

  static async start(size = 3): Promise<NatsCluster> {
    const nodes: Node[] = []
    for (let i = 0; i < size; i++)
      nodes.push({
        name: `n${i + 1}`,
        port: await freePort(),
        clusterPort: await freePort(),
        storeDir: mkdtempSync(path.join(os.tmpdir(), `gdmarket-nats-n${i + 1}-`)),
      })
    const cluster = new NatsCluster(nodes, `gdm${process.pid}`)
    for (let i = 0; i < size; i++) cluster.spawn(i)
    await cluster.waitForJetStream()
    return cluster
  }

  /** Every node's client url, comma-separated, as NATS_URL takes them. */
  get url(): string {
    return this.nodes.map(n => `nats://127.0.0.1:${n.port}`).join(',')
  }

  get size(): number {
    return this.nodes.length
  }

  private spawn(i: number): void {
    const n = this.nodes[i]
    const routes = this.nodes
      .filter(o => o !== n)
      .map(o => `nats-route://127.0.0.1:${o.clusterPort}`)
      .join(',')
    n.child = spawn(
      BINARY,
      [
        '-a',
        '127.0.0.1',
        '-p',
        String(n.port),
        '-js',
        '-sd',
        n.storeDir,
        '--server_name',
        n.name,
        '--cluster_name',
        this.clusterName,
        '--cluster',
        `nats://127.0.0.1:${n.clusterPort}`,
        '--routes',
        routes,
      ],
      { stdio: 'ignore' },
    )
  }

  /** Until JetStream answers through every running node (a meta leader is elected). */
  private async waitForJetStream(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (const n of this.nodes.filter(x => x.child && x.child.exitCode === null)) {
      for (;;) {
        const ok = await connect({ servers: `nats://127.0.0.1:${n.port}`, timeout: 1000, reconnect: false })
          .then(async nc => {
            try {
              await (await nc.jetstreamManager({ timeout: 1000 })).getAccountInfo()
              return true
            } finally {
              await nc.close()
            }
          })
          .catch(() => false)
        if (ok) break
        if (Date.now() > deadline) throw new Error(`JetStream cluster not ready through ${n.name}`)
        await sleep(200)
      }
    }
  }

  /** SIGKILL one node (its store stays). */
  async stopNode(i: number): Promise<void> {
    const child = this.nodes[i].child
    if (!child || child.exitCode !== null) return
    const exited = new Promise(r => child.once('exit', r))
    child.kill('SIGKILL')
    await exited
  }

  /** Starts a stopped node again on its ports and store; it rejoins the cluster. */
  async resumeNode(i: number): Promise<void> {
    this.spawn(i)
    await this.waitForJetStream()
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((_, i) => this.stopNode(i)))
    for (const n of this.nodes) rmSync(n.storeDir, { recursive: true, force: true })
  }
}
