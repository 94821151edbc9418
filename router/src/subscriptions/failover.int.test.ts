// Two routers behind one URL (a real HAProxy, as a Kubernetes Service would be): `npm run watch`
// subscribes through it, the router it is on is killed (SIGKILL, no goodbye) while changes keep
// coming, and the watcher subscribes again through the same URL, reaching the other router, with
// the last cursor it printed. The change feed itself is the ground truth: every change after the
// watcher's first is printed once, in feed order, none missing.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { connect } from 'nats'
import { itemInfoFeedStream } from '@gdmarket/contracts/item-info'
import { ROOT, eventually, freePort, gql, sleep, Stack, token } from '../../../test/harness.js'
import { ensureHaproxy, LoadBalancer } from '../../../test/operations/haproxy.js'

const haproxy = ensureHaproxy()
const describeWithHaproxy = 'bin' in haproxy ? describe : describe.skip
const stack = new Stack()
let lb: LoadBalancer
let watcher: ChildProcess
const printed: { cursor: string; itemId: string; version: number }[] = []
let stderr = ''

/** The router instance holding an established TCP connection from the balancer (the watcher's socket). */
function routerWithConnection(): 'router' | 'router-b' | null {
  const established = (port: number) =>
    readFileSync('/proc/net/tcp', 'utf8')
      .split('\n')
      .slice(1)
      .some(line => {
        const [, local, , state] = line.trim().split(/\s+/)
        return state === '01' && Number.parseInt(local?.split(':')[1] ?? '', 16) === port
      })
  if (established(stack.portOf('router'))) return 'router'
  if (established(stack.portOf('router-b'))) return 'router-b'
  return null
}

let owner: string
/** Writes go straight to one router (never the one killed), so none is lost to the kill itself. */
let writeVia: 'router' | 'router-b' = 'router'
const register = (n: number) =>
  gql(
    `http://127.0.0.1:${stack.portOf(writeVia)}/graphql`,
    `mutation($n: String!) { registerItem(input: { name: $n, price: 10 }) { id } }`,
    { n: `Item ${n}` },
    owner,
  )

beforeAll(async () => {
  if (!('bin' in haproxy)) return
  await stack.start('item', 'reservation', 'payment', 'projections', 'router')
  await stack.startInstance('router-b', 'router')
  owner = await token('owner-1', 'Olivia', ['owner'])
  lb = new LoadBalancer(haproxy.bin, stack.tmp, await freePort(), [
    { name: 'router', port: stack.portOf('router') },
    { name: 'router-b', port: stack.portOf('router-b') },
  ])
  await lb.start()
  watcher = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/watch.ts')], {
    env: { ...process.env, ROUTER_URL: lb.url.replace('http', 'ws'), NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let buffered = ''
  watcher.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString()
    const lines = buffered.split('\n')
    buffered = lines.pop() ?? ''
    for (const line of lines) if (line.startsWith('{')) printed.push(JSON.parse(line))
  })
  watcher.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
}, 120_000)
afterAll(async () => {
  watcher?.kill('SIGINT')
  await lb?.stop()
  await stack.dispose()
})

describeWithHaproxy('a subscriber behind two routers', () => {
  it('loses nothing when the router it is on dies: it resumes on the other with its last cursor', async () => {
    // Wait until the watcher prints changes, then learn which router carries it.
    let n = 0
    await eventually(async () => {
      const r = await register(n++)
      if (r.errors) throw new Error(JSON.stringify(r.errors))
      await sleep(200)
      if (!printed.length) throw new Error(`nothing printed yet; watcher said: ${stderr}`)
      return true
    })
    const first = printed[0]
    const victim = await eventually(
      async () => routerWithConnection(),
      v => v !== null,
    )
    writeVia = victim === 'router' ? 'router-b' : 'router'

    // Changes keep coming while its router is killed.
    let writing = true
    const writer = (async () => {
      while (writing) {
        await register(n++)
        await sleep(30)
      }
    })()
    await sleep(500)
    const beforeKill = printed.length
    await stack.stop(victim!, 'SIGKILL')
    await eventually(async () => /resuming every item .* after cursor \d+/.test(stderr), Boolean, { timeoutMs: 30_000 })
    await sleep(1000)
    writing = false
    await writer
    const last = await register(n++)
    expect(last.errors).toBeUndefined()

    // The ground truth: the feed from the watcher's first change on.
    // The last registration reaches the feed after its answer: wait for it, so nothing comes later.
    const nc = await connect({ servers: stack.natsUrl })
    const jsm = await nc.jetstreamManager()
    const lastId = (last.data as { registerItem: { id: string } }).registerItem.id
    const state = await eventually(
      async () => {
        const { state } = await jsm.streams.info(itemInfoFeedStream(stack.stream))
        const m = await jsm.streams.getMessage(itemInfoFeedStream(stack.stream), { seq: state.last_seq })
        return m.json<{ itemId: string }>().itemId === lastId ? state : null
      },
      s => s !== null,
      { timeoutMs: 30_000 },
    )
    await eventually(async () => printed.at(-1)?.cursor === String(state!.last_seq), Boolean, { timeoutMs: 30_000 })
    const feed: string[] = []
    for (let seq = Number(first.cursor); seq <= state!.last_seq; seq++) {
      const m = await jsm.streams.getMessage(itemInfoFeedStream(stack.stream), { seq })
      const info = m.json<{ itemId: string; version: number }>()
      feed.push(`${seq} ${info.itemId}@${info.version}`)
    }
    await nc.close()

    expect(beforeKill).toBeGreaterThan(0)
    expect(printed.map(p => `${p.cursor} ${p.itemId}@${p.version}`)).toEqual(feed)
    // It said where it resumed from: the last cursor it had printed before the connection dropped.
    const resumedFrom = /after cursor (\d+)/.exec(stderr)![1]
    expect(printed.some(p => p.cursor === resumedFrom)).toBe(true)
  }, 120_000)
})
