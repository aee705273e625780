// The client's dashboard in a real browser (issue 19): log in (any user name, the admin token
// as the password), see the running proxy, edit the config to add a proxy, see the check fail on
// a typo at the right line, fix it, apply, and see the new proxy running (and carrying traffic);
// the control connection's chart has its samples. Screenshots go to test-results/browser/.
import { readFile } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { BROWSER_TEST_TIMEOUT_MS, chromiumOrSkip, DOCS_SETTLE_MS, closeBrowsers, openBrowser, screenshot } from '../helpers/browser.js'
import { cleanupCli, clientYaml, startClient, startRelay } from '../helpers/cli.js'
import { closeServices, connectTo, echoOnce, getFreePort, pumpEcho, startEchoServer } from '../helpers/services.js'

const run = chromiumOrSkip()

afterEach(async () => {
  await closeBrowsers()
  await cleanupCli()
  await closeServices()
})

const TOKEN = 'client-dash-token'
/** Generous bounds for what the page shows within a poll or two, on a busy machine. */
const SHOWN_WITHIN_MS = 30_000

describe.runIf(run)('client dashboard in a browser (issue 19)', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  it('adds a proxy through the config editor: a typo fails the check at its line, the fixed file applies and the proxy runs', async () => {
    const echo = await startEchoServer()
    const relay = await startRelay()
    const admin = await getFreePort()
    const sshPort = await getFreePort()
    const webPort = await getFreePort()
    const client = await startClient(clientYaml({ serverPort: relay.port, extraYaml: `webServer:\n  port: ${admin}\n  token: ${TOKEN}`, proxies: [{ name: 'ssh', localPort: echo.port, remotePort: sshPort }] }))
    expect(client.ports.get('ssh')).toBe(sshPort)

    const { page, errors, blocked } = await openBrowser({ login: { username: 'me', password: TOKEN } })
    expect((await page.goto(`http://127.0.0.1:${admin}/`))?.status()).toBe(200)
    const ssh = page.locator('tr[data-proxy="ssh"]')
    await ssh.waitFor()
    await expect.poll(async () => await ssh.locator('[data-phase]').getAttribute('data-phase'), { timeout: SHOWN_WITHIN_MS }).toBe('running')
    expect(await ssh.textContent()).toContain(`127.0.0.1:${echo.port}`)

    // The editor holds the file the client runs with.
    const editor = page.locator('#config textarea')
    await editor.waitFor()
    const original = await editor.inputValue()
    expect(original).toBe(await readFile(client.configPath, 'utf8'))

    // Add a proxy with a typo (localPrt): the check names its line, and the gutter marks it.
    const added = ['  - name: "web"', '    type: tcp', '    localIP: 127.0.0.1', `    localPrt: ${echo.port}`, `    remotePort: ${webPort}`, '']
    const base = original.endsWith('\n') ? original : `${original}\n`
    const typoLine = base.split('\n').length - 1 + 4
    await editor.fill(base + added.join('\n'))
    await page.getByRole('button', { name: 'Check' }).click()
    const failed = page.locator('#config [data-check="failed"]')
    await failed.waitFor()
    const issue = failed.locator(`li[data-line="${typoLine}"]`)
    expect(await issue.textContent()).toContain('TUN_CONFIG_UNKNOWN_KEY')
    expect(await issue.textContent()).toContain(`line ${typoLine}:5`)
    expect(await page.locator(`#config .gutter .ln.bad[data-line="${typoLine}"]`).count()).toBe(1)
    await screenshot(page, 'dashboard-client-check-failed')
    // Nothing was written.
    expect(await readFile(client.configPath, 'utf8')).toBe(original)

    // Fixed: the check passes, apply writes the file and reloads, the outcome names the new proxy.
    await editor.fill(base + added.join('\n').replace('localPrt', 'localPort'))
    await page.getByRole('button', { name: 'Check' }).click()
    await page.locator('#config [data-check="ok"]').waitFor()
    await page.getByRole('button', { name: 'Apply' }).click()
    const outcome = page.locator('#config [data-outcome]')
    await outcome.waitFor()
    expect(await outcome.getAttribute('data-outcome')).toBe('applied')
    expect(await outcome.textContent()).toContain('added web')
    expect(await readFile(client.configPath, 'utf8')).toContain(`remotePort: ${webPort}`)
    expect(await readFile(`${client.configPath}.bak`, 'utf8')).toBe(original)

    const web = page.locator('tr[data-proxy="web"]')
    await web.waitFor()
    await expect.poll(async () => await web.locator('[data-phase]').getAttribute('data-phase'), { timeout: SHOWN_WITHIN_MS }).toBe('running')
    expect(await echoOnce(webPort)).toBe(true)

    // The relay's view of the control connection, sampled while the page is open.
    await expect.poll(async () => Number(await page.locator('figure[data-chart="rtt"]').getAttribute('data-points')), { timeout: SHOWN_WITHIN_MS }).toBeGreaterThan(0)
    // Traffic through the new proxy shows on its chart.
    const chart = page.locator('figure[data-chart="web"]')
    const flow = pumpEcho(await connectTo(webPort), { maxBytes: 256 * 1024 * 1024, maxMs: 60_000, bytesPerSecond: 2 * 1024 * 1024 })
    try {
      await expect.poll(async () => Number(await chart.getAttribute('data-total')), { timeout: SHOWN_WITHIN_MS }).toBeGreaterThan(0)
      await page.waitForTimeout(DOCS_SETTLE_MS)
      await screenshot(page, 'dashboard-client', { docs: true })
    } finally {
      flow.stop()
    }

    // A phone-width screen: nothing overflows sideways, the editor included.
    await page.setViewportSize({ width: 390, height: 844 })
    await expect.poll(async () => await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390)
    await screenshot(page, 'dashboard-client-phone')

    expect(errors).toEqual([])
    expect(blocked).toEqual([])
    expect(client.handle.logs.filter((l) => l.msg === 'reloaded')).toHaveLength(1)
  })
})
