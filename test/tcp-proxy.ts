// A TCP proxy a test owns between a service and something it needs (PostgreSQL, NATS), so the test
// can cut that dependency for one service without touching the shared server: `cut()` drops every
// open connection and then refuses new ones (or accepts and never answers: 'hang'), `restore()`
// lets them through again on the same port.
import net from 'node:net'

export type CutMode = 'refuse' | 'hang'

export class TcpProxy {
  private server: net.Server | undefined
  private readonly sockets = new Set<net.Socket>()
  private mode: 'open' | CutMode = 'open'
  /** Connections accepted so far (a test can check the service really goes through the proxy). */
  connections = 0

  private constructor(
    private boundPort: number,
    private readonly target: { host: string; port: number },
  ) {}

  get port(): number {
    return this.boundPort
  }

  /** Listens on `port` (default: a free one) and forwards to `target`. */
  static async start(target: { host?: string; port: number }, port = 0): Promise<TcpProxy> {
    const proxy = new TcpProxy(port, { host: target.host ?? '127.0.0.1', port: target.port })
    proxy.boundPort = await proxy.listen()
    return proxy
  }

  /** A proxy in front of the PostgreSQL or NATS of `url`; `url` rewritten to go through it. */
  static async forUrl(url: string): Promise<{ proxy: TcpProxy; url: string }> {
    const u = new URL(url)
    const defaultPort = u.protocol.startsWith('nats') ? 4222 : 5432
    const proxy = await TcpProxy.start({ host: u.hostname || '127.0.0.1', port: Number(u.port || defaultPort) })
    u.hostname = '127.0.0.1'
    u.port = String(proxy.port)
    return { proxy, url: u.toString() }
  }

  private listen(): Promise<number> {
    const server = net.createServer(client => this.accept(client))
    this.server = server
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port))
    })
  }

  private accept(client: net.Socket): void {
    this.connections++
    this.sockets.add(client)
    client.once('close', () => this.sockets.delete(client))
    client.on('error', () => client.destroy())
    if (this.mode === 'hang') return // accepted, never answered: the client's timeouts must act
    const upstream = net.connect(this.target.port, this.target.host)
    this.sockets.add(upstream)
    upstream.once('close', () => {
      this.sockets.delete(upstream)
      client.destroy()
    })
    client.once('close', () => upstream.destroy())
    upstream.on('error', () => upstream.destroy())
    client.pipe(upstream)
    upstream.pipe(client)
  }

  get cutMode(): 'open' | CutMode {
    return this.mode
  }

  /** Drops every open connection; then new ones are refused (port closed) or, with 'hang', accepted and left silent. */
  async cut(mode: CutMode = 'refuse'): Promise<void> {
    if (this.mode !== 'open') return
    this.mode = mode
    const closed = mode === 'refuse' ? this.closeServer() : Promise.resolve()
    for (const s of this.sockets) s.destroy()
    await closed
  }

  /** Lets connections through again, on the same port. */
  async restore(): Promise<void> {
    if (this.mode === 'open') return
    const was = this.mode
    this.mode = 'open'
    for (const s of this.sockets) s.destroy() // hung connections: the client reconnects for real
    if (was === 'refuse') await this.listen()
  }

  private closeServer(): Promise<void> {
    const server = this.server
    this.server = undefined
    return new Promise(resolve => (server ? server.close(() => resolve()) : resolve()))
  }

  async close(): Promise<void> {
    this.mode = 'refuse'
    const closed = this.closeServer()
    for (const s of this.sockets) s.destroy()
    await closed
  }
}
