// `tunnel bench tcp --target ... --report out.html` (issue 19): the file is self-contained (no
// URL to load, data and code inline, a CSP that forbids every request), opens in a real browser
// without a console error and shows the latency percentile curve, the run over time and the
// errors by kind. Plus the pieces on their own: the HDR percentile curve, the per-second
// timeline, and the escaping that keeps data and code inside their <script> elements.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { LatencyHistogram } from '../../loadtest/histogram.js'
import { renderReportHtml, scriptSafeCode, scriptSafeJson } from '../../loadtest/report-html.js'
import { Timeline } from '../../loadtest/timeline.js'
import { BROWSER_TEST_TIMEOUT_MS, chromiumOrSkip, closeBrowsers, openBrowser, screenshot } from '../helpers/browser.js'
import { cleanupCli, spawnCli } from '../helpers/cli.js'
import { closeServices, startEchoServer } from '../helpers/services.js'

const run = chromiumOrSkip()
const dirs: string[] = []

afterEach(async () => {
  vi.useRealTimers()
  await closeBrowsers()
  await cleanupCli()
  await closeServices()
  await Promise.all(dirs.splice(0).map(async (d) => { await rm(d, { recursive: true, force: true }) }))
})

describe('bench report pieces (issue 19)', () => {
  it('the percentile curve halves the distance to 100 % as far as the samples resolve, then ends at the maximum', () => {
    const h = new LatencyHistogram()
    for (let i = 1; i <= 1000; i++) h.record(i * 1000)
    const curve = h.percentileCurve()
    expect(curve[0]).toEqual({ percentile: 0, ms: 1 })
    expect(curve.at(-1)).toEqual({ percentile: 100, ms: 1000 })
    const finite = curve.slice(0, -1)
    expect(finite.every((p) => p.percentile <= 100 * (1 - 1 / 1000))).toBe(true)
    expect(finite.every((p, i) => i === 0 || (p.percentile > (finite[i - 1]?.percentile ?? 0) && p.ms >= (finite[i - 1]?.ms ?? 0)))).toBe(true)
    expect(new LatencyHistogram().percentileCurve()).toEqual([])
  })

  it('the timeline keeps one point per interval with that interval\'s operations, bytes and latencies', () => {
    vi.useFakeTimers()
    const state = { startedAt: performance.now(), ok: 0, failed: 0, bytesSent: 0, bytesReceived: 0, endedAt: undefined }
    const t = new Timeline()
    t.start(state, 1_000)
    state.ok = 10; state.bytesSent = 640; t.interval.record(2_000)
    vi.advanceTimersByTime(1_000)
    state.ok = 15; state.failed = 1; state.bytesSent = 960
    vi.advanceTimersByTime(1_000)
    t.stop()
    expect(t.points.map((p) => [p.ok, p.failed, p.bytesSent, p.p50Ms])).toEqual([[10, 0, 640, 2], [5, 1, 320, null]])
  })

  it('data and code cannot end their <script> element', () => {
    const data = scriptSafeJson({ s: '</script><script>alert(1)</script>', l: '\u2028' })
    expect(data).not.toContain('<')
    expect(JSON.parse(data)).toEqual({ s: '</script><script>alert(1)</script>', l: '\u2028' })
    expect(scriptSafeCode('x = "</script>"; y = "<!--"')).toBe('x = "<\\/script>"; y = "<\\!--"')
    const html = renderReportHtml({ report: { protocol: 'tcp', workload: 'rr', target: '<b>', startedAt: 'now' } as never, detail: { latencyCurve: [], connectCurve: [], timeline: [], relay: [] } }, { js: 'a="</script>"', css: 'b{}</style>' })
    expect(html.match(/<\/script>/g)).toHaveLength(2)
    expect(html).toContain('&#60;b&#62;')
  })
})

describe.runIf(run)('bench report in a browser (issue 19)', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  it('tunnel bench tcp --report writes a file that opens without a console error and shows the percentile chart', async () => {
    const echo = await startEchoServer()
    const dir = await mkdtemp(join(tmpdir(), 'tunnel-report-'))
    dirs.push(dir)
    const file = join(dir, 'out.html')
    const bench = spawnCli(['bench', 'tcp', '--target', `127.0.0.1:${echo.port}`, '-d', '2', '-c', '2', '--report', file, '--progress', 'none', '--log-format', 'json'])
    const { code } = await bench.exit
    expect(code).toBe(0)
    expect(bench.logs.some((l) => l.msg === 'HTML report written')).toBe(true)

    const html = await readFile(file, 'utf8')
    // Self-contained: nothing to load from anywhere, and the page may not try.
    expect(html).not.toMatch(/\b(?:src|href)=/)
    expect(html).toContain("default-src 'none'")
    expect(html).toContain('id="bench-data"')

    const { page, errors, blocked, requests } = await openBrowser({ viewport: { width: 1000, height: 900 } })
    await page.goto(pathToFileURL(file).href)
    const curve = page.locator('figure[data-chart="percentiles"]')
    await curve.locator('canvas').waitFor()
    expect(Number(await curve.getAttribute('data-points'))).toBeGreaterThan(2)
    expect(await page.locator('figure[data-chart="latency-over-time"] canvas').count()).toBe(1)
    expect(await page.locator('figure[data-chart="throughput-over-time"] canvas').count()).toBe(1)
    expect(await page.locator('#errors').textContent()).toContain('No operation failed')
    await screenshot(page, 'bench-report', { docs: true })
    expect(errors).toEqual([])
    expect(blocked).toEqual([])
    expect(requests).toEqual([pathToFileURL(file).href])
  })
})
