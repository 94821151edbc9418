// What a process costs, read from Linux /proc: CPU time (user + system, the process and every
// descendant, so a gateway that forks workers is charged for them) and resident memory.
import type { ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { spawnNode as spawnChild, waitReady } from '@gdmarket/platform/spawn'

// /proc/<pid>/stat counts in clock ticks; USER_HZ is 100 on every Linux this runs on.
const TICKS_PER_S = 100

/** Fields after "(comm)": comm may hold spaces and parentheses, so split after the last ')'. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined // exited meanwhile
  }
}

/** The process and everything below it. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>()
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue
    const ppid = Number(statFields(Number(e))?.[1])
    if (ppid) children.set(ppid, [...(children.get(ppid) ?? []), Number(e)])
  }
  const tree = [pid]
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]) ?? []))
  return tree
}

/** CPU milliseconds (utime + stime, fields 14 and 15 of stat) of the process tree so far. */
export function cpuMs(pid: number): number {
  let ticks = 0
  for (const p of processTree(pid)) {
    const f = statFields(p)
    if (f) ticks += Number(f[11]) + Number(f[12]) // 0-based after comm: state=0 … utime=11, stime=12
  }
  return (ticks * 1000) / TICKS_PER_S
}

/** Resident set size of the process tree, in MiB. */
export function rssMb(pid: number): number {
  let kb = 0
  for (const p of processTree(pid)) {
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0)
    } catch {
      // exited meanwhile
    }
  }
  return kb / 1024
}

export interface Spawned {
  child: ChildProcess
  pid: number
  output: string[]
  stop(): Promise<void>
}

/** Starts `node <args>` and waits until `readyUrl` answers (any answer below 500: a GraphQL GET counts). */
export async function spawnNode(
  args: string[],
  env: NodeJS.ProcessEnv,
  readyUrl: string,
  timeoutMs = 60_000,
): Promise<Spawned> {
  const proc = spawnChild(args, { env: { ...process.env, ...env } })
  const { child, output } = proc
  // The whole tree: a gateway may fork workers.
  const stop = async () => {
    if (proc.exitCode() !== undefined) return
    for (const p of processTree(child.pid ?? 0).reverse()) {
      try {
        process.kill(p, 'SIGKILL')
      } catch {
        // gone
      }
    }
    await proc.exited
  }
  try {
    await waitReady(proc, readyUrl, { name: `node ${args.join(' ')}`, timeoutMs, accept: r => r.status < 500 })
  } catch (err) {
    await stop()
    throw err
  }
  return { child, pid: child.pid ?? 0, output, stop }
}

interface ProcEntry {
  pid: number
  ppid: number
  comm: string
}

function scanProcs(): ProcEntry[] {
  const out: ProcEntry[] = []
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8')
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      out.push({ pid: Number(e), ppid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]), comm })
    } catch {
      // exited meanwhile
    }
  }
  return out
}

const cmdline = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')
  } catch {
    return ''
  }
}

/** PostgreSQL's own helpers, shared by every database (their work is mostly ours while the bench holds the machine). */
const PG_AUX = /: (checkpointer|background writer|walwriter|autovacuum|logical replication)/

/**
 * Which process belongs to which part of one GDmarket under test: each service's process tree
 * (by its root pid), the PostgreSQL backends serving the databases whose names contain
 * `databaseTag` plus PostgreSQL's shared helpers, and nats-server.
 */
export function systemProcesses(services: Record<string, number>, databaseTag: string): Map<number, string> {
  const procs = scanProcs()
  const children = new Map<number, number[]>()
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid])
  const groups = new Map<number, string>()
  for (const [name, root] of Object.entries(services)) {
    const tree = [root]
    for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]) ?? []))
    for (const pid of tree) groups.set(pid, name)
  }
  const comms = new Map(procs.map(p => [p.pid, p.comm]))
  for (const p of procs) {
    if (p.comm === 'nats-server') groups.set(p.pid, 'nats')
    else if (p.comm === 'postgres' && comms.get(p.ppid) === 'postgres') {
      const title = cmdline(p.pid)
      if (title.includes(databaseTag) || PG_AUX.test(title)) groups.set(p.pid, 'postgres')
    }
  }
  return groups
}

/** CPU milliseconds of one process (not its descendants); undefined once it is gone. */
function ownCpuMs(pid: number): number | undefined {
  const f = statFields(pid)
  return f ? ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_S : undefined
}

/**
 * CPU spent by groups of processes over a window. Processes come and go (a pool opens a backend):
 * the process list is read again on every sample, a process first seen after the start counts from
 * zero, and one that exits keeps what it had at its last sample; so sample often (every 250 ms).
 */
export class CpuMeter {
  private readonly seen = new Map<number, { group: string; first: number; last: number }>()
  private timer: NodeJS.Timeout | undefined
  private startedAt = 0

  constructor(private readonly processes: () => Map<number, string>) {}

  start(everyMs = 250): void {
    this.seen.clear()
    this.startedAt = performance.now()
    for (const [pid, group] of this.processes()) {
      const ms = ownCpuMs(pid)
      if (ms !== undefined) this.seen.set(pid, { group, first: ms, last: ms })
    }
    this.timer = setInterval(() => this.sample(), everyMs)
  }

  private sample(): void {
    for (const [pid, group] of this.processes()) {
      const ms = ownCpuMs(pid)
      if (ms === undefined) continue
      const s = this.seen.get(pid)
      if (s) s.last = ms
      else this.seen.set(pid, { group, first: 0, last: ms })
    }
  }

  /** CPU ms per group since start, and the window's length. */
  stop(): { byGroup: Record<string, number>; total: number; elapsedMs: number } {
    this.sample()
    clearInterval(this.timer)
    const byGroup: Record<string, number> = {}
    for (const s of this.seen.values()) byGroup[s.group] = (byGroup[s.group] ?? 0) + (s.last - s.first)
    const total = Object.values(byGroup).reduce((a, b) => a + b, 0)
    return { byGroup, total, elapsedMs: performance.now() - this.startedAt }
  }
}
