// The test-owned TCP proxy in front of the real PostgreSQL: passes traffic, cuts it (refused, or
// accepted and silent), and lets it through again on the same port.
import { afterAll, expect, it } from '@jest/globals'
import pg from 'pg'
import { TcpProxy } from './tcp-proxy.js'

const PG = process.env.TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'
const proxies: TcpProxy[] = []

async function query(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 })
  client.on('error', () => undefined)
  try {
    await client.connect()
    const { rows } = await client.query<{ ok: number }>('SELECT 1 AS ok')
    return `ok ${rows[0].ok}`
  } catch (e) {
    return (e as { code?: string }).code ?? (e as Error).message
  } finally {
    await client.end().catch(() => undefined)
  }
}

afterAll(async () => {
  for (const p of proxies) await p.close()
})

it('forwards, refuses while cut, hangs in hang mode, and recovers on the same port', async () => {
  const { proxy, url } = await TcpProxy.forUrl(PG)
  proxies.push(proxy)
  expect(await query(url)).toBe('ok 1')

  const open = new pg.Client(url)
  const dropped = new Promise<Error>(resolve => open.on('error', resolve))
  await open.connect()
  await proxy.cut()
  expect((await dropped).message).toMatch(/terminated/)
  expect(await query(url)).toBe('ECONNREFUSED')

  await proxy.restore()
  expect(await query(url)).toBe('ok 1')

  await proxy.cut('hang')
  expect(await query(url)).toMatch(/timeout/)
  await proxy.restore()
  expect(await query(url)).toBe('ok 1')
  expect(proxy.connections).toBeGreaterThanOrEqual(5)
})
