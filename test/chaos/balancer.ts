// A round-robin TCP balancer in front of a service's instances, as a Kubernetes Service is in front
// of its pods: each new connection goes to the next instance, and to the one after it when that
// one refuses (killed, restarting); like a Service it prefers instances whose /health/ready says
// 200 (polled), falling back to all when none is. The router talks to it as to one subgraph.
import net from 'node:net'

export class Balancer {
  private readonly sockets = new Set<net.Socket>()
  private next = 0
  private ready = new Set<number>()
  private readonly poll: NodeJS.Timeout

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    readonly upstreams: number[],
  ) {
    this.poll = setInterval(() => void this.probe(), 300)
  }

  private async probe(): Promise<void> {
    const ready = new Set<number>()
    await Promise.all(
      this.upstreams.map(async port => {
        const res = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(1000) }).catch(
          () => undefined,
        )
        if (res?.ok) ready.add(port)
      }),
    )
    this.ready = ready
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** Ready instances first (rotating), then the others. */
  private candidates(): number[] {
    const n = this.next++
    const rotate = (list: number[]) => list.map((_, i) => list[(n + i) % list.length])
    const ready = this.upstreams.filter(p => this.ready.has(p))
    return [...rotate(ready), ...rotate(this.upstreams.filter(p => !this.ready.has(p)))]
  }

  static async start(port: number, upstreams: number[] = []): Promise<Balancer> {
    const server = net.createServer()
    const balancer = new Balancer(server, port, upstreams)
    server.on('connection', client => balancer.accept(client))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve())
    })
    return balancer
  }

  private accept(client: net.Socket): void {
    this.sockets.add(client)
    client.once('close', () => this.sockets.delete(client))
    client.on('error', () => client.destroy())
    client.pause()
    const order = this.candidates()
    const tryFrom = (tries: number) => {
      if (tries >= order.length || client.destroyed) return client.destroy()
      const port = order[tries]
      const upstream = net.connect(port, '127.0.0.1')
      let connected = false
      upstream.on('error', () => upstream.destroy())
      upstream.once('connect', () => {
        connected = true
        this.sockets.add(upstream)
        upstream.once('close', () => {
          this.sockets.delete(upstream)
          client.destroy()
        })
        client.once('close', () => upstream.destroy())
        client.pipe(upstream)
        upstream.pipe(client)
        client.resume()
      })
      // Refused before it connected: the next instance.
      upstream.once('close', () => {
        if (!connected) tryFrom(tries + 1)
      })
    }
    tryFrom(0)
  }

  async close(): Promise<void> {
    clearInterval(this.poll)
    for (const s of this.sockets) s.destroy()
    await new Promise(r => this.server.close(r))
  }
}
