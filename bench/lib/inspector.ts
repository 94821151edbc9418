// A process under measurement, seen through its inspector (started with --inspect=127.0.0.1:0):
// its heap after a full GC (what live objects cost, without the garbage RSS still holds) and a CPU
// profile of a window, with the frames that spent the most self time. No code in the process
// itself is needed for either.
import { writeFileSync } from 'node:fs'
import WebSocket from 'ws'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}
interface Profile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples?: number[]
}

export class Inspector {
  private nextId = 1
  private readonly pending = new Map<number, (result: Record<string, unknown>) => void>()

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', data => {
      const message = JSON.parse(String(data)) as { id?: number; result?: Record<string, unknown> }
      if (message.id !== undefined) this.pending.get(message.id)?.(message.result ?? {})
    })
  }

  /** Connects to the inspector whose "Debugger listening on ws://…" line is in `output`. */
  static async attach(output: string): Promise<Inspector> {
    const url = /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1]
    if (!url) throw new Error('the process has no inspector (start it with --inspect=127.0.0.1:0)')
    const ws = new WebSocket(url)
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
    return new Inspector(ws)
  }

  call(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++
    return new Promise(resolve => {
      this.pending.set(id, resolve)
      this.ws.send(JSON.stringify({ id, method, params }))
    })
  }

  /** Heap used after a full GC, in bytes. */
  async heapAfterGc(): Promise<number> {
    await this.call('HeapProfiler.collectGarbage')
    await this.call('HeapProfiler.collectGarbage')
    const { result } = (await this.call('Runtime.evaluate', {
      expression: 'process.memoryUsage().heapUsed + process.memoryUsage().external',
      returnByValue: true,
    })) as { result: { value: number } }
    return result.value
  }

  async startProfile(): Promise<void> {
    await this.call('Profiler.enable')
    await this.call('Profiler.setSamplingInterval', { interval: 200 })
    await this.call('Profiler.start')
  }

  /** Stops the profile, writes it to `file` (.cpuprofile, for DevTools) and returns the top self-time frames. */
  async stopProfile(file: string, top = 12): Promise<string[]> {
    const { profile } = (await this.call('Profiler.stop')) as { profile: Profile }
    writeFileSync(file, JSON.stringify(profile))
    return topSelfFrames(profile, top)
  }

  close(): void {
    this.ws.close()
  }
}

/** "self % · function (file:line)" for the frames with the most samples of their own. */
export function topSelfFrames(profile: Profile, top: number): string[] {
  const total = profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0) || 1
  const byFrame = new Map<string, number>()
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame
    const file = url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*\/(router|platform)\//, '$1/')
    const key = `${functionName || '(anonymous)'} (${file || 'native'}:${lineNumber + 1})`
    byFrame.set(key, (byFrame.get(key) ?? 0) + (node.hitCount ?? 0))
  }
  return [...byFrame]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, hits]) => `${((hits / total) * 100).toFixed(1)}% ${key}`)
}
