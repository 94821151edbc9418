// The chaos run: the whole system on loopback with its own nats-server, databases, SQLite file and
// ports; N instances of item, reservation and projections behind round-robin balancers (as the HPA
// in deploy/k8s runs them); the chaos load through the router; on a seeded schedule, SIGKILL and
// restart of every instance, of payment and of NATS, a PostgreSQL outage for one service through a
// proxy, payment answers slowed around the payment timeout. Then it waits for the system to settle
// and runs the consistency checker: every row must be 0. See docs/chaos.md.
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { connect } from 'nats'
import { freePort, sleep, Stack, type ServiceName } from '../harness.js'
import { NatsCluster } from '../nats-cluster.js'
import { OwnNatsServer } from '../nats-server.js'
import { TcpProxy } from '../tcp-proxy.js'
import { Balancer } from './balancer.js'
import { check, decisionLatencies, formatTable, percentile, type CheckResult } from './checker.js'
import { ChaosLoad, seeded, type LoadResult } from './load.js'
import { readSnapshot } from './snapshot.js'

export const FAULTS = ['kill', 'nats', 'db', 'latency'] as const
export type Fault = (typeof FAULTS)[number]
const REPLICATED = ['item', 'reservation', 'projections'] as const
type Replicated = (typeof REPLICATED)[number]

export interface ChaosOptions {
  durationMs: number
  seed: number
  replicas: number
  /** A 3-node JetStream cluster on loopback (test/nats-cluster.ts) instead of one nats-server. */
  cluster: boolean
  faults: Fault[]
  /** The PostgreSQL outage: whose database, and how long. */
  outageService: Replicated
  outageMs: number
  /** PAYMENT_TEST_LATENCY_MS for the payment subgraph when 'latency' is on. */
  paymentLatency: string
  owners: number
  renters: number
  itemsPerOwner: number
  hotItems: number
  /** SIGKILL every instance of each service (one after another), or only the first of each. */
  killEveryInstance: boolean
  /** At most this long for the system to settle after the load, before checking anyway. */
  settleMs: number
  idempotencyKeys: boolean
  log: (line: string) => void
}

export const FULL: Omit<ChaosOptions, 'log'> = {
  durationMs: 120_000,
  seed: 1,
  replicas: 2,
  cluster: false,
  faults: [...FAULTS],
  outageService: 'item',
  outageMs: 60_000,
  // About a fifth of the calls over the 610 ms timeout: under the breaker's 50 %, so payments still happen.
  paymentLatency: '100-750',
  owners: 10,
  renters: 30,
  itemsPerOwner: 3,
  hotItems: 4,
  killEveryInstance: true,
  settleMs: 120_000,
  idempotencyKeys: false,
}

/** The seeded version `npm test` runs: 20-30 s of load, every fault, a short outage. */
export const SHORT: Omit<ChaosOptions, 'log'> = {
  ...FULL,
  durationMs: 25_000,
  outageMs: 8_000,
  owners: 4,
  renters: 10,
  itemsPerOwner: 2,
  hotItems: 3,
  killEveryInstance: false,
  settleMs: 90_000,
}

export interface ChaosReport {
  options: Omit<ChaosOptions, 'log'>
  result: CheckResult
  latency: { decided: number; undecided: number; p50: number; p99: number; max: number }
  load: Omit<LoadResult, 'mutations'> & { mutations: number }
  faults: string[]
  settledInMs: number | null
  dir: string
}

interface Nats {
  url: string
  stop(): Promise<void>
  resume(): Promise<void>
  dispose(): Promise<void>
}

/** A stack whose services see per-service environment overrides set after construction (proxy and balancer urls). */
class ChaosStack extends Stack {
  readonly overrides: Partial<Record<ServiceName | 'all', NodeJS.ProcessEnv>> = {}
  override env(name: ServiceName): NodeJS.ProcessEnv {
    return { ...super.env(name), ...this.overrides.all, ...this.overrides[name] }
  }
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const random = seeded(o.seed)
  const started = Date.now()
  const at = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s`
  const faultLog: string[] = []
  const note = (line: string) => {
    faultLog.push(`${at()} ${line}`)
    o.log(`${at()} ${line}`)
  }
  const dir = path.join(os.tmpdir(), `gdmarket-chaos-${new Date().toISOString().replace(/[:.]/g, '-')}`)
  mkdirSync(dir, { recursive: true })

  const nats = await startNats(o.cluster, random)
  const stack = new ChaosStack()
  stack.natsUrl = nats.url
  const balancers = new Map<Replicated, Balancer>()
  let proxy: TcpProxy | undefined
  try {
    await stack.allocatePorts()
    for (const s of REPLICATED) balancers.set(s, await Balancer.start(await freePort(), [stack.ports[s]]))
    stack.overrides.all = {
      // The production retry policy, not the harness's fast one: what an outage really meets.
      CONSUMER_BACKOFF_MS: '',
      // On the cluster every stream has three copies, as in deploy/k8s: a killed node loses nothing.
      ...(o.cluster ? { NATS_STREAM_REPLICAS: '3' } : {}),
      ...Object.fromEntries(REPLICATED.map(s => [`${s.toUpperCase()}_URL`, `${balancers.get(s)!.url}/graphql`])),
    }
    if (o.faults.includes('latency')) stack.overrides.payment = { PAYMENT_TEST_LATENCY_MS: o.paymentLatency }
    if (o.faults.includes('db')) {
      const cut = await TcpProxy.forUrl(stack.databaseUrl(o.outageService))
      proxy = cut.proxy
      stack.overrides[o.outageService] = { DATABASE_URL: cut.url }
    }
    // The databases are created and migrated by the first instance; the others join them.
    await Promise.all(
      (['item', 'reservation', 'payment', 'projections'] as const).map(n => patiently(stack, n, () => stack.start(n))),
    )
    const instances: string[][] = [['payment']]
    const more: Promise<unknown>[] = []
    for (const s of REPLICATED) {
      const group: string[] = [s]
      for (let i = 2; i <= o.replicas; i++) {
        const name = `${s}-${i}`
        group.push(name)
        more.push(
          patiently(stack, name, () => stack.startInstance(name, s)).then(() =>
            balancers.get(s)!.upstreams.push(stack.portOf(name)),
          ),
        )
      }
      instances.push(group)
    }
    await Promise.all(more)
    await patiently(stack, 'router', () => stack.start('router'))
    note(
      `up: ${o.replicas} × item, reservation, projections; payment; router; ${o.cluster ? '3-node NATS cluster' : 'nats-server'} (seed ${o.seed})`,
    )

    const load = new ChaosLoad({
      routerUrl: stack.url('router'),
      owners: o.owners,
      renters: o.renters,
      itemsPerOwner: o.itemsPerOwner,
      hotItems: o.hotItems,
      durationMs: o.durationMs,
      random,
      idempotencyKeys: o.idempotencyKeys,
      // A renter waits out an outage rather than giving up, so every decision is measured.
      decideTimeoutMs: o.outageMs + 30_000,
    })
    await load.prepare()
    note('items registered; load and faults start')
    const loadDone = load.run()
    const failedStarts: string[] = []
    const faultsDone = runFaults(o, random, stack, instances, nats, proxy, note, failedStarts)
    const [loadResult] = await Promise.all([loadDone, faultsDone])
    note(`load done: ${loadResult.rounds} rounds, ${loadResult.mutations.length} mutations`)

    const settledInMs = await settle(stack, nats.url, o.settleMs)
    note(
      settledInMs === null
        ? `not settled after ${o.settleMs / 1000} s; checking anyway`
        : `settled in ${settledInMs} ms`,
    )
    const snapshot = await readSnapshot({
      databaseUrls: {
        item: stack.databaseUrl('item'),
        reservation: stack.databaseUrl('reservation'),
        payment: stack.databaseUrl('payment'),
        projections: stack.databaseUrl('projections'),
      },
      natsUrl: nats.url,
      stream: stack.stream,
    })
    const result = check(snapshot, loadResult.mutations, { failedStarts })
    const { decided, undecided } = decisionLatencies(snapshot.events)
    const report: ChaosReport = {
      options: { ...o, log: undefined } as unknown as ChaosReport['options'],
      result,
      latency: {
        decided: decided.length,
        undecided,
        p50: percentile(decided, 50),
        p99: percentile(decided, 99),
        max: decided.at(-1) ?? 0,
      },
      load: { ...loadResult, mutations: loadResult.mutations.length },
      faults: faultLog,
      settledInMs,
      dir,
    }
    writeFileSync(path.join(dir, 'report.json'), JSON.stringify(report, null, 2))
    writeFileSync(path.join(dir, 'mutations.json'), JSON.stringify(loadResult.mutations))
    writeFileSync(
      path.join(dir, 'snapshot.json'),
      JSON.stringify(snapshot, (_, v) => v),
    )
    for (const name of stack.running.keys()) writeFileSync(path.join(dir, `${name}.log`), stack.logs(name))
    return report
  } finally {
    await Promise.all([...balancers.values()].map(b => b.close()))
    await stack.dispose().catch(e => o.log(`dispose: ${e}`))
    await proxy?.close()
    await nats.dispose()
  }
}

async function startNats(cluster: boolean, random: () => number): Promise<Nats> {
  if (!cluster) return OwnNatsServer.start()
  const c = await NatsCluster.start(3)
  // The 'nats' fault on a cluster: one node (drawn from the seed) killed and brought back.
  const victim = Math.floor(random() * c.size)
  return {
    url: c.url,
    stop: () => c.stopNode(victim),
    resume: () => c.resumeNode(victim),
    dispose: () => c.dispose(),
  }
}

/**
 * Starts a killed instance again. One that is up but not ready yet (waiting for its database) is
 * waited for; one that exits before it is ready is counted and started again.
 */
async function bringBack(
  stack: Stack,
  name: string,
  note: (l: string) => void,
  deadline: number,
  failedStarts: string[],
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await stack.restart(name)
      return
    } catch (e) {
      const first = String(e).split('\n')[0]
      if (first.includes('not ready after')) {
        note(`${name} running but not ready yet; waiting`)
        while (!(await isReady(stack.portOf(name)))) {
          if (Date.now() > deadline) throw new Error(`${name} never became ready`)
          await sleep(500)
        }
        return
      }
      note(`${name} exited before it was ready (start ${attempt}): ${first.slice(0, 160)}`)
      failedStarts.push(`${name} start ${attempt}: ${first.slice(0, 120)}`)
      if (Date.now() > deadline) throw new Error(`${name} could not be restarted`)
      await sleep(1000)
    }
  }
}

/**
 * A first start on a loaded machine can take longer than the harness's ready wait: a process that
 * is up but not ready yet is given until `maxMs`; one that exits still fails the run.
 */
async function patiently(stack: Stack, name: string, start: () => Promise<unknown>, maxMs = 240_000): Promise<void> {
  const deadline = Date.now() + maxMs
  try {
    await start()
  } catch (e) {
    if (!String(e).split('\n')[0].includes('not ready after')) throw e
    while (!(await isReady(stack.portOf(name)))) {
      if (Date.now() > deadline) throw new Error(`${name} not ready after ${maxMs} ms`)
      await sleep(500)
    }
  }
}

async function isReady(port: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(2000) }).catch(
    () => undefined,
  )
  return res?.ok === true
}

/** The fault schedule, drawn from the seed: each instance, payment and NATS killed once, one database cut. */
async function runFaults(
  o: ChaosOptions,
  random: () => number,
  stack: Stack,
  instances: string[][],
  nats: Nats,
  proxy: TcpProxy | undefined,
  note: (l: string) => void,
  failedStarts: string[],
): Promise<void> {
  const d = o.durationMs
  const between = (a: number, b: number) => a + random() * (b - a)
  const deadline = Date.now() + d + o.settleMs
  const jobs: Promise<void>[] = []
  const later = (ms: number, what: () => Promise<void>) =>
    jobs.push(
      sleep(ms)
        .then(what)
        .catch(e => note(`fault failed: ${e}`)),
    )
  if (o.faults.includes('kill'))
    // One chain per service: its instances killed one after another, each once the previous is
    // back, so with replicas one is always serving (payment, single, is simply down a while).
    for (const group of instances) {
      const chain = o.killEveryInstance ? group : group.slice(0, 1)
      later(between(0.05 * d, 0.3 * d), async () => {
        for (const name of chain) {
          await stack.stop(name, 'SIGKILL')
          note(`SIGKILL ${name}`)
          await sleep(between(300, 2000))
          await bringBack(stack, name, note, deadline, failedStarts)
          note(`${name} back`)
          await sleep(between(0, 0.1 * d))
        }
      })
    }
  if (o.faults.includes('nats'))
    later(between(0.2 * d, 0.7 * d), async () => {
      const what = o.cluster ? 'one NATS cluster node' : 'nats-server'
      await nats.stop()
      note(`SIGKILL ${what}`)
      await sleep(between(2000, 5000))
      await nats.resume()
      note(`${what} back`)
    })
  if (proxy) {
    const start = Math.min(0.1 * d, Math.max(0, d - o.outageMs))
    later(start, async () => {
      await proxy.cut('refuse')
      note(`${o.outageService} database cut (refused) for ${o.outageMs / 1000} s`)
      await sleep(o.outageMs)
      await proxy.restore()
      note(`${o.outageService} database back`)
    })
  }
  await Promise.all(jobs)
}

/**
 * Waits until nothing is in flight: every consumer has nothing pending or unacknowledged, and the
 * processes are all up. Returns how long it took, or null if it did not happen within `maxMs`.
 * A further pause lets the payment reconciliation (10 s by contract) finish what it found.
 */
async function settle(stack: Stack, natsUrl: string, maxMs: number): Promise<number | null> {
  const started = Date.now()
  const nc = await connect({ servers: natsUrl, timeout: 5000, waitOnFirstConnect: true })
  try {
    const jsm = await nc.jetstreamManager()
    let quietSince: number | null = null
    while (Date.now() - started < maxMs) {
      const consumers = await jsm.consumers.list(stack.stream).next()
      const busy = consumers.some(c => c.num_pending > 0 || c.num_ack_pending > 0)
      if (busy) quietSince = null
      else quietSince ??= Date.now()
      // Quiet for 12 s: longer than the reconciliation window and a few outbox polls.
      if (quietSince && Date.now() - quietSince > 12_000) return Date.now() - started
      await sleep(500)
    }
    return null
  } finally {
    await nc.close()
  }
}

export function printReport(r: ChaosReport, log: (l: string) => void): void {
  log('')
  log('mutations (outcome: count)')
  for (const [op, outcomes] of Object.entries(r.load.outcomes))
    log(
      `  ${op.padEnd(18)} ${Object.entries(outcomes)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')}`,
    )
  log('')
  log(
    `reserve → decided (${r.latency.decided} decided, ${r.latency.undecided} undecided): p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, max ${r.latency.max} ms`,
  )
  log('')
  log(formatTable(r.result))
  log(`report, snapshot and service logs: ${r.dir}`)
}
