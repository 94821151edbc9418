// Starting a GDmarket process as a child and waiting until it is ready: one way for `npm start`,
// the test harness and the benchmarks. A child runs `node --import tsx/esm <entry>` (tsx as a
// loader, not its CLI wrapper, so signals reach the service itself; its ESM hooks only: every
// GDmarket module is ESM, and tsx's CommonJS hook resolved each require() a package makes at run
// time again, as Apollo Server does for every request's hash).
import { spawn, type ChildProcess } from 'node:child_process'
import { sleep } from './wait.js'

export interface Child {
  child: ChildProcess
  /** The last output chunks (stdout and stderr), for an error message. */
  output: string[]
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>
  /** Undefined while running. */
  exitCode(): number | null | undefined
}

export interface SpawnOptions {
  cwd?: string
  env: NodeJS.ProcessEnv
  /** Output chunks kept for errors. */
  keep?: number
}

/** Starts `node <args>` with stdout and stderr piped and its recent output kept. */
export function spawnNode(args: string[], { cwd, env, keep = 200 }: SpawnOptions): Child {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  const output: string[] = []
  const collect = (d: Buffer) => {
    output.push(d.toString())
    if (output.length > keep) output.shift()
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  let code: number | null | undefined
  const exited = new Promise<number | null>(resolve =>
    child.once('exit', c => {
      code = c
      resolve(c)
    }),
  )
  return { child, output, exited, exitCode: () => code }
}

export interface ReadyOptions {
  /** Named in errors. */
  name: string
  timeoutMs?: number
  intervalMs?: number
  /** How long one probe may take; default: as long as it takes (a loaded machine answers slowly, but answers). */
  probeTimeoutMs?: number
  /** Which answer counts as ready; default: a 2xx. */
  accept?: (res: Response) => boolean
  /** Stops waiting early (returns false), e.g. when the starter is shutting down. */
  cancelled?: () => boolean
}

/**
 * Polls `url` until it answers as `accept` wants: true when ready, false when cancelled; throws
 * with the child's output when it exits first or the deadline passes.
 */
export async function waitReady(
  proc: Child,
  url: string,
  {
    name,
    timeoutMs = 60_000,
    intervalMs = 100,
    probeTimeoutMs,
    accept = r => r.ok,
    cancelled = () => false,
  }: ReadyOptions,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!cancelled()) {
    const code = proc.exitCode()
    if (code !== undefined) throw new Error(`${name} exited with ${code} before it was ready:\n${proc.output.join('')}`)
    const signal = probeTimeoutMs ? AbortSignal.timeout(probeTimeoutMs) : undefined
    const ok = await fetch(url, { signal }).then(accept, () => false)
    if (ok) return true
    if (Date.now() > deadline) throw new Error(`${name} not ready after ${timeoutMs} ms:\n${proc.output.join('')}`)
    await sleep(intervalMs)
  }
  return false
}
