// Summarises V8 .cpuprofile files (written by `--cpu-prof`, e.g. under BENCH_CPU_PROF) by self time:
//   npx tsx bench/lib/profile.ts <dir> [top]
// Each subfolder (one per service) is one process; frames are grouped by function and file, and
// files by package (node_modules/<pkg>) or by our own path, so both "which function" and "which
// library" show.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

/** Where a frame comes from: a package, node's own code, or our path relative to the repo. */
function origin(url: string): string {
  if (!url) return '(native)'
  if (url.startsWith('node:')) return 'node'
  const nm = url.lastIndexOf('node_modules/')
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/')
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
  }
  const repo = url.indexOf('/work/')
  return repo >= 0 ? url.slice(url.indexOf('/', repo + 6) + 1).replace(/^[^/]+\//, '') : url
}

/** Self time (ms) by frame and by origin. */
export function selfTime(profile: CpuProfile): {
  total: number
  frames: Map<string, number>
  origins: Map<string, number>
} {
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const selfUs = new Map<number, number>()
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  })
  const frames = new Map<string, number>()
  const origins = new Map<string, number>()
  let total = 0
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame
    const file = url ? `${origin(url)}:${path.basename(url)}:${lineNumber + 1}` : ''
    const frame = `${functionName || '(anonymous)'} ${file}`.trim()
    const ms = us / 1000
    total += ms
    frames.set(frame, (frames.get(frame) ?? 0) + ms)
    const o = functionName === '(garbage collector)' ? '(gc)' : functionName === '(idle)' ? '(idle)' : origin(url)
    origins.set(o, (origins.get(o) ?? 0) + ms)
  }
  return { total, frames, origins }
}

const top = (m: Map<string, number>, n: number, total: number) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([k, ms]) =>
        `  ${((100 * ms) / total).toFixed(1).padStart(5)} %  ${Math.round(ms).toString().padStart(6)} ms  ${k}`,
    )

function main(): void {
  const dir = process.argv[2]
  const n = Number(process.argv[3] ?? 15)
  if (!dir) throw new Error('usage: profile.ts <dir> [top]')
  for (const service of readdirSync(dir).sort()) {
    const sub = path.join(dir, service)
    if (!statSync(sub).isDirectory()) continue
    for (const file of readdirSync(sub).filter(f => f.endsWith('.cpuprofile'))) {
      const { total, frames, origins } = selfTime(JSON.parse(readFileSync(path.join(sub, file), 'utf8')))
      const busy = total - (origins.get('(idle)') ?? 0)
      console.log(`${service} (${file}): ${Math.round(total)} ms sampled, ${Math.round(busy)} ms busy`)
      console.log(' by origin (self time):')
      console.log(top(origins, 10, total).join('\n'))
      console.log(' by frame (self time):')
      console.log(top(frames, n, total).join('\n'))
    }
  }
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) main()
