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
