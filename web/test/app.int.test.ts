// The web app in a real browser (Debian's Chromium through playwright-core) against the real
// supergraph: an owner and a renter in two browser contexts, phone-sized. The owner's page goes
// through a TCP proxy the test owns, so the test can cut the owner's connections (the board's
// WebSocket included) and restore them.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'
import { eventually, gql, ROOT, sleep, Stack, token } from '../../test/harness.js'
import { TcpProxy } from '../../test/tcp-proxy.js'
import { launchChromium } from '../../test/chromium.js'

// Seoul City Hall; the renter stands ~300 m away.
const ITEM_AT = { lat: 37.5665, lng: 126.978 }
const RENTER_AT = { latitude: 37.5691, longitude: 126.9795 }
const PHONE = { width: 390, height: 844 }
/** The board must show a change within this of the read model having it (the 1 s). */
const LIVE_MS = Number(process.env.WEB_TEST_LIVE_MS ?? 1000)
// UPDATE_SCREENSHOTS=1 writes them into docs/ for the README; otherwise into a temporary folder.
const SHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? path.join(ROOT, 'docs', 'screenshots') : os.tmpdir()

const stack = new Stack()
let proxy: TcpProxy
let browser: Browser
let owner: Page
let renter: Page
const contexts: BrowserContext[] = []
let itemId: string

const FIELDS = 'itemName itemStatus rentalStatus reservationStatus paymentStatus customerName version'
let ownerToken: string
/** itemInfo through the API, as its owner sees it (the reservation's fields are private to owner and customer). */
async function apiInfo(): Promise<Record<string, string | number | null>> {
  ownerToken ??= await token('owner-1', 'Olivia', ['owner'])
  const query = `query($id: ID!) { itemInfo(itemId: $id) { ${FIELDS} } }`
  const r = await gql(stack.url('router'), query, { id: itemId }, ownerToken)
  return r.data!.itemInfo
}

const row = () => owner.locator(`tr[data-item-id="${itemId}"]`)
const cell = (field: string) => row().locator(`[data-field="${field}"]`)
async function boardRow(): Promise<Record<string, string | number | null>> {
  const text = async (f: string) => {
    const l = cell(f)
    return (await l.count()) ? ((await l.first().textContent()) ?? '').trim() : null
  }
  const dash = (v: string | null) => (v === '—' ? null : v)
  return {
    itemName: (
      await row()
        .locator('th')
        .evaluate(th => th.firstChild?.textContent ?? '')
    ).trim(),
    itemStatus: await text('itemStatus'),
    rentalStatus: await text('rentalStatus'),
    reservationStatus: dash(await text('reservationStatus')),
    paymentStatus: dash(await text('paymentStatus')),
    customerName: await text('customerName'),
    version: Number(await text('version')),
  }
}

/**
 * Waits until the read model (through the API) shows `ok`, then measures how long the board, never
 * reloaded, takes to show that same version: both are polled side by side.
 */
async function boardFollows(ok: (i: Record<string, unknown>) => boolean, what: string): Promise<number> {
  const info = await eventually(apiInfo, ok, { timeoutMs: 20_000 })
  const seenAt = Date.now()
  await eventually(
    async () => Number(await row().getAttribute('data-version')),
    v => v >= Number(info.version),
    { timeoutMs: 10_000, intervalMs: 20 },
  ).catch(e => {
    throw new Error(`${what}: the board did not show version ${info.version}: ${(e as Error).message}`)
  })
  return Date.now() - seenAt
}

async function signInAs(page: Page, name: string): Promise<void> {
  await page.getByRole('button', { name: new RegExp(`^${name}`) }).click()
  await expect(page.getByText(`Signed in as ${name}`)).toBeTruthy()
  await page.getByText('Signed in as').waitFor()
}

const statusOf = (l: Locator) => l.getAttribute('data-status')

beforeAll(async () => {
  if (!existsSync(path.join(ROOT, 'web', 'dist', 'index.html')))
    execFileSync('npm', ['run', 'build', '-w', 'web'], { cwd: ROOT, stdio: 'inherit' })
  mkdirSync(SHOTS, { recursive: true })
  await stack.start('item', 'reservation', 'payment', 'projections')
  await stack.start('router')
  proxy = await TcpProxy.start({ port: stack.ports.router })
  browser = await launchChromium()
  const ownerCtx = await browser.newContext({ viewport: PHONE })
  const renterCtx = await browser.newContext({
    viewport: PHONE,
    geolocation: RENTER_AT,
    permissions: ['geolocation'],
  })
  contexts.push(ownerCtx, renterCtx)
  owner = await ownerCtx.newPage()
  renter = await renterCtx.newPage()
  await owner.goto(`http://127.0.0.1:${proxy.port}/`)
  await renter.goto(`http://127.0.0.1:${stack.ports.router}/`)
}, 180_000)

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined)
  await browser?.close()
  await proxy?.close()
  await stack.dispose()
})

describe('the web app', () => {
  it('serves the app at / and keeps the GraphQL endpoint at /graphql', async () => {
    const page = await fetch(`http://127.0.0.1:${stack.ports.router}/`)
    expect(page.headers.get('content-type')).toMatch(/text\/html/)
    expect(await page.text()).toMatch(/<div id="root">/)
    const r = await gql(stack.url('router'), '{ __typename }')
    expect(r.data).toEqual({ __typename: 'Query' })
    const config = await (await fetch(`http://127.0.0.1:${stack.ports.router}/web-config.json`)).json()
    expect(config).toEqual({ devSignIn: true, identityProviderUrl: null })
  })

  it('the owner registers an item with its location and it is on the board', async () => {
    await signInAs(owner, 'Olivia')
    await owner.evaluate(() => {
      ;(globalThis as unknown as { notReloaded: boolean }).notReloaded = true
    })
    await owner.getByRole('button', { name: 'Register an item' }).click()
    await owner.getByLabel('Name').fill('Camping chair')
    await owner.getByLabel('Price per rental (₩)').fill('3000')
    await owner.getByLabel('Latitude').fill(String(ITEM_AT.lat))
    await owner.getByLabel('Longitude').fill(String(ITEM_AT.lng))
    await owner.getByLabel(/Area/).fill('중구 시청')
    await owner.getByRole('button', { name: 'Register', exact: true }).click()
    await owner.getByRole('heading', { name: 'My board' }).waitFor()
    const r = owner.locator('tr[data-item-id]', { hasText: 'Camping chair' })
    await r.waitFor({ timeout: 15_000 })
    itemId = (await r.getAttribute('data-item-id'))!
    expect(itemId).toMatch(/^[0-9a-f-]{36}$/)
    await owner.locator('[data-feed="live"]').waitFor({ timeout: 15_000 })
    expect(await boardRow()).toMatchObject({ itemStatus: 'RENTABLE', rentalStatus: 'NOT_RENTING', version: 1 })
  })

  it('the renter finds it near them, reserves, pays through an outage; the board follows live', async () => {
    await signInAs(renter, 'YoungEun')
    await renter.getByRole('button', { name: 'Use my location' }).click()
    const result = renter.getByRole('button', { name: /Camping chair/ })
    await result.waitFor({ timeout: 15_000 })
    // ~300 m from where the renter is, as the spheroid says.
    expect(await result.textContent()).toMatch(/3\d\d m · 중구 시청/)
    await renter.screenshot({ path: path.join(SHOTS, 'renter-search.png'), fullPage: true })
    await result.click()
    await renter.getByRole('button', { name: 'Reserve' }).click()
    const status = renter.locator('[data-status]')
    await eventually(
      () => statusOf(status),
      s => s === 'CONFIRMED',
      { timeoutMs: 20_000 },
    )
    const confirmedDelay = await boardFollows(i => i.reservationStatus === 'CONFIRMED', 'confirmed')
    expect(await boardRow()).toMatchObject({ itemStatus: 'NOT_RENTABLE', reservationStatus: 'CONFIRMED' })

    // Payment down: the renter is told to try again later and offered a retry that works once it is back.
    await stack.stop('payment')
    await renter.getByRole('button', { name: /^Pay/ }).click()
    await renter.getByText('Payment is unavailable right now. Please try again later.').waitFor({ timeout: 20_000 })
    expect((await apiInfo()).paymentStatus).toBe('NOT_PAID')
    await stack.restart('payment')
    // As a person would: retry until it goes through (the first retries may still meet a cold payment).
    const paid = renter.getByText('Paid.')
    await eventually(
      async () => {
        if (await paid.isVisible()) return true
        const retry = renter.getByRole('button', { name: 'Retry payment' })
        if ((await retry.isVisible()) && (await retry.isEnabled())) await retry.click()
        await paid.waitFor({ timeout: 2000 }).catch(() => undefined)
        return paid.isVisible()
      },
      Boolean,
      { timeoutMs: 30_000, intervalMs: 500 },
    )
    const paidDelay = await boardFollows(i => i.paymentStatus === 'PAID', 'paid')
    expect(await boardRow()).toMatchObject({ paymentStatus: 'PAID', customerName: 'YoungEun' })
    expect(confirmedDelay).toBeLessThanOrEqual(LIVE_MS)
    expect(paidDelay).toBeLessThanOrEqual(LIVE_MS)
  })

  it('the owner lends and takes back from the board', async () => {
    await row().getByRole('button', { name: /Lend/ }).click()
    await boardFollows(i => i.rentalStatus === 'RENTING', 'lent')
    expect(await boardRow()).toMatchObject({ rentalStatus: 'RENTING' })
    await owner.screenshot({ path: path.join(SHOTS, 'board.png'), fullPage: true })
    await row()
      .getByRole('button', { name: /Take back/ })
      .click()
    await boardFollows(i => i.rentalStatus === 'RETURNED', 'returned')
    expect(await boardRow()).toMatchObject({ rentalStatus: 'RETURNED', itemStatus: 'RENTABLE' })
  })

  it('catches up after its connection is cut, and its row equals itemInfo through the API', async () => {
    const before = await apiInfo()
    proxy.cut('refuse')
    await owner.locator('[data-feed="reconnecting"]').waitFor({ timeout: 15_000 })
    // Meanwhile the renter reserves again: changes the board cannot see while cut off.
    await renter.getByRole('button', { name: 'Find near me' }).click()
    await renter.getByRole('button', { name: 'Search', exact: true }).click()
    await renter.getByRole('button', { name: /Camping chair/ }).click()
    await renter.getByRole('button', { name: 'Reserve' }).click()
    await eventually(
      () => statusOf(renter.locator('[data-status]')),
      s => s === 'CONFIRMED',
      { timeoutMs: 20_000 },
    )
    const during = await eventually(apiInfo, i => Number(i.version) > Number(before.version))
    expect(Number(await row().getAttribute('data-version'))).toBe(Number(before.version))
    await sleep(300)
    proxy.restore()
    // Back live, resumed from its last cursor (not the fallback that re-reads the list).
    await owner.locator('[data-feed="live"][data-resumable="true"]').waitFor({ timeout: 20_000 })
    await eventually(
      async () => Number(await row().getAttribute('data-version')),
      v => v >= Number(during.version),
      { timeoutMs: 15_000 },
    )
    await eventually(async () => JSON.stringify(await boardRow()) === JSON.stringify(await apiInfo()), Boolean, {
      timeoutMs: 10_000,
    })
    expect(await boardRow()).toEqual(await apiInfo())
    expect(await boardRow()).toMatchObject({ reservationStatus: 'CONFIRMED', paymentStatus: 'NOT_PAID' })
    // All of it without a reload.
    expect(await owner.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true)
  })

  it('cancels from "my reservations", and says so in words', async () => {
    await renter.getByRole('button', { name: 'My reservations' }).click()
    const first = renter.getByRole('button', { name: /Camping chair\s*CONFIRMED/ }).first()
    await first.waitFor({ timeout: 15_000 })
    await first.click()
    await renter.getByRole('button', { name: 'Cancel reservation' }).click()
    await eventually(
      () => statusOf(renter.locator('[data-status]')),
      s => s === 'CANCELLED',
      { timeoutMs: 20_000 },
    )
    // Cancelled, then the item released (RENTABLE again): two changes; compare once both are in.
    await boardFollows(i => i.reservationStatus === 'CANCELLED' && i.itemStatus === 'RENTABLE', 'cancelled')
    expect(await boardRow()).toEqual(await apiInfo())
  })
})
