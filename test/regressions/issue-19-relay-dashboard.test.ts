// The relay's dashboard in a real browser (issue 19): a relay and a client from the built CLI, a
// person logging in, seeing the registered proxy's name, phase and public address, its traffic
// chart moving while a transfer runs, the refused port's error code, the page on a phone-width
// screen, and polling that stops while the tab is hidden. Screenshots go to test-results/browser/.
import { afterEach, describe, expect, it } from 'vitest'
import { BROWSER_TEST_TIMEOUT_MS, chromiumOrSkip, DOCS_SETTLE_MS, closeBrowsers, openBrowser, screenshot, setHidden } from '../helpers/browser.js'
import { cleanupCli, clientYaml, logMsg, startClient, startRelay } from '../helpers/cli.js'
import { closeServices, connectTo, getFreePort, holdPort, pumpEcho, startEchoServer } from '../helpers/services.js'

const run = chromiumOrSkip()

afterEach(async () => {
  await closeBrowsers()
  await cleanupCli()
  await closeServices()
})

const LOGIN = { username: 'admin', password: 'relay-dash' }
/** The transfer that makes the chart move: bounded in bytes and time. */
const TRANSFER = { maxBytes: 512 * 1024 * 1024, maxMs: 60_000, bytesPerSecond: 4 * 1024 * 1024, chunkBytes: 64 * 1024 }
/** Longer than two polls of the dashboard (3 s each). */
const HIDDEN_WINDOW_MS = 7_000
const HIDDEN_SETTLE_MS = 1_500
/** Generous bounds for what the page shows within a poll or two, on a busy machine. */
const SHOWN_WITHIN_MS = 30_000

describe.runIf(run)('relay dashboard in a browser (issue 19)', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  it('shows a registered proxy, its traffic chart moving during a transfer, and a refused port with its code', async () => {
    const echo = await startEchoServer()
    const admin = await getFreePort()
    const relay = await startRelay({ extraYaml: `webServer:\n  port: ${admin}\n  user: ${LOGIN.username}\n  password: ${LOGIN.password}` })
    await relay.handle.waitForLog(logMsg('admin listening'))
    const busy = await holdPort()
    const webPort = await getFreePort()
    const client = await startClient(clientYaml({ serverPort: relay.port, proxies: [{ name: 'web', localPort: echo.port, remotePort: webPort }, { name: 'taken', localPort: echo.port, remotePort: busy.port }] }))
    expect(client.ports.get('web')).toBe(webPort)
    expect(client.refused.get('taken')).toBe('TUN_PORT_IN_USE')
    const url = `http://127.0.0.1:${admin}/`

    // Without the login the browser cannot get in (it has no credentials to answer the 401 with),
    // and the page's own requests are refused the same way.
    const anonymous = await openBrowser()
    await expect(anonymous.page.goto(url)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/)
    expect((await anonymous.context.request.get(`${url}api/history`)).status()).toBe(401)

    const { page, errors, blocked } = await openBrowser({ login: LOGIN })
    const first = await page.goto(url)
    expect(first?.status()).toBe(200)
    const row = page.locator('tr[data-proxy="web"]')
    await row.waitFor()
    expect(await row.locator('td').first().textContent()).toBe('web')
    await expect.poll(async () => await row.locator('[data-phase]').getAttribute('data-phase'), { timeout: SHOWN_WITHIN_MS }).toBe('listening')
    expect(await row.textContent()).toContain(`127.0.0.1:${webPort}`)
    expect(await page.locator('tr[data-client]').count()).toBe(1)

    // The refused registration, by its code, in the errors section (counted once per attempt: the
    // client registers a proxy refused for a held port again, with backoff, so there may be more).
    const refusal = page.locator('#errors tr[data-code="TUN_PORT_IN_USE"]')
    await refusal.waitFor()
    expect(Number(await refusal.locator('td.num').textContent())).toBeGreaterThanOrEqual(1)

    // The chart of web moves while bytes flow through it.
    const chart = page.locator('figure[data-chart="web"]')
    await chart.locator('canvas').waitFor()
    const bytesBefore = Number(await chart.getAttribute('data-total'))
    const pictureBefore = await chart.screenshot()
    const flow = pumpEcho(await connectTo(webPort), TRANSFER)
    try {
      await expect.poll(async () => Number(await chart.getAttribute('data-total')), { timeout: SHOWN_WITHIN_MS }).toBeGreaterThan(bytesBefore + TRANSFER.chunkBytes)
      const pictureAfter = await chart.screenshot()
      expect(pictureAfter.equals(pictureBefore)).toBe(false)
      expect(flow.sent()).toBeGreaterThan(0)
      await page.waitForTimeout(DOCS_SETTLE_MS)
      await screenshot(page, 'dashboard-relay', { docs: true })
    } finally {
      flow.stop()
    }

    // Polling stops while the tab is hidden and starts again when it is shown.
    const apiRequests: string[] = []
    const api = (): number => apiRequests.length
    page.on('request', (r) => { if (r.url().includes('/api/')) apiRequests.push(r.url()) })
    await setHidden(page, true)
    // A request already on its way when the tab hid may still be reported: let it land first.
    await page.waitForTimeout(HIDDEN_SETTLE_MS)
    const whenHidden = api()
    await page.waitForTimeout(HIDDEN_WINDOW_MS)
    expect(api()).toBe(whenHidden)
    await setHidden(page, false)
    await expect.poll(() => api(), { timeout: SHOWN_WITHIN_MS }).toBeGreaterThan(whenHidden)

    // A phone-width screen: the page does not overflow sideways (tables scroll inside their card).
    await page.setViewportSize({ width: 390, height: 844 })
    await expect.poll(async () => await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390)
    await screenshot(page, 'dashboard-relay-phone')

    expect(errors).toEqual([])
    expect(blocked).toEqual([])
    await busy.close()
  })
})
