// A real browser for the dashboard and report tests: Debian's chromium (apt-get install chromium)
// driven by playwright-core, which downloads nothing. Each session is a fresh profile in a temp
// dir, removed when the test ends (closeBrowsers()). Every request the page makes goes through a
// filter that lets only loopback and file: URLs out and records the others (a page that tries
// the network is a failure, not a leak). Console errors and page errors are collected.
//
// Where chromium is missing the browser tests are skipped with a message saying how to install
// it, except in CI (the CI variable set, as .ci/run does): there a missing browser fails.
import { existsSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

export const CHROMIUM_PATH = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium'
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
/** Launching chromium on a busy 2-core machine: generous. */
export const LAUNCH_TIMEOUT_MS = 30_000
/** Per-test limit of the browser tests (a browser launch and a few page round trips). */
export const BROWSER_TEST_TIMEOUT_MS = 120_000

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
/** Screenshots of every run (ignored by git). */
export const SCREENSHOT_DIR = join(ROOT, 'test-results', 'browser')
/** With UPDATE_DOCS_SCREENSHOTS=1 the README's pictures in docs/ are written too. */
export const DOCS_DIR = join(ROOT, 'docs')
/** The README's pictures: the top of the page at a laptop's size (small files). */
export const DOCS_VIEWPORT = { width: 1024, height: 720 }
/**
 * When the README's pictures are taken, the tests first let a few history samples (10 s each)
 * accumulate so the charts show a curve; otherwise they do not wait.
 */
export const DOCS_SETTLE_MS = process.env.UPDATE_DOCS_SCREENSHOTS === '1' ? 25_000 : 0

/**
 * Whether the browser tests can run here. Without chromium: false with a warning on a
 * developer's machine, an error in CI (so `npm test` cannot pass there without them).
 */
export function chromiumOrSkip (): boolean {
  if (existsSync(CHROMIUM_PATH)) return true
  const how = `chromium is not installed at ${CHROMIUM_PATH}: the browser tests (dashboards, bench report) need it. Install Debian's package: apt-get install -y chromium (or point CHROMIUM_BIN at a chromium binary)`
  if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') throw new Error(`${how}. CI is set: failing rather than skipping.`)
  process.stderr.write(`\n*** SKIPPED: ${how}.\n\n`)
  return false
}

export interface BrowserSession {
  context: BrowserContext
  page: Page
  /** console.error messages and uncaught page errors, in order. */
  errors: string[]
  /** URLs the page tried to load outside loopback and file: (aborted). */
  blocked: string[]
  /** Every URL the page requested. */
  requests: string[]
}

const sessions = new Set<{ context: BrowserContext, dir: string }>()

function allowed (url: string): boolean {
  if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('blob:')) return true
  try {
    const host = new URL(url).hostname
    return host === '127.0.0.1' || host === 'localhost' || host === '[::1]'
  } catch {
    return false
  }
}

export interface OpenOptions {
  /** Basic-auth credentials the browser answers a 401 with (the login). */
  login?: { username: string, password: string }
  viewport?: { width: number, height: number }
}

export async function openBrowser (options: OpenOptions = {}): Promise<BrowserSession> {
  const dir = await mkdtemp(join(tmpdir(), 'tunnel-chromium-'))
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: LAUNCH_TIMEOUT_MS,
    viewport: options.viewport ?? { width: 1280, height: 900 },
    ...(options.login === undefined ? {} : { httpCredentials: options.login }),
  })
  sessions.add({ context, dir })
  const page = context.pages()[0] ?? await context.newPage()
  const session: BrowserSession = { context, page, errors: [], blocked: [], requests: [] }
  await context.route('**/*', async (route) => {
    const url = route.request().url()
    session.requests.push(url)
    if (allowed(url)) await route.continue()
    else {
      session.blocked.push(url)
      await route.abort('blockedbyclient')
    }
  })
  page.on('console', (m) => { if (m.type() === 'error') session.errors.push(`console: ${m.text()}`) })
  page.on('pageerror', (e) => { session.errors.push(`page: ${e.message}`) })
  return session
}

export async function closeBrowsers (): Promise<void> {
  const list = [...sessions]
  sessions.clear()
  await Promise.all(list.map(async ({ context, dir }) => {
    await context.close().catch(() => {})
    await rm(dir, { recursive: true, force: true })
  }))
}

/**
 * Writes test-results/browser/NAME.png; with `docs` and UPDATE_DOCS_SCREENSHOTS=1 also
 * docs/NAME.png (the README's pictures: the visible part of the page only, to stay small).
 * Returns the path under test-results.
 */
export async function screenshot (page: Page, name: string, options: { fullPage?: boolean, docs?: boolean } = {}): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true })
  const path = join(SCREENSHOT_DIR, `${name}.png`)
  await page.screenshot({ path, fullPage: options.fullPage ?? true })
  if (options.docs === true && process.env.UPDATE_DOCS_SCREENSHOTS === '1') {
    const size = page.viewportSize()
    await page.setViewportSize(DOCS_VIEWPORT)
    await page.evaluate('window.scrollTo(0, 0)')
    const docs = join(SCREENSHOT_DIR, `${name}-docs.png`)
    await page.screenshot({ path: docs, fullPage: false })
    await copyFile(docs, join(DOCS_DIR, `${name}.png`))
    if (size !== null) await page.setViewportSize(size)
  }
  return path
}

/** Makes the page believe its tab is hidden (or visible again) and tells it so, as a browser does. */
export async function setHidden (page: Page, hidden: boolean): Promise<void> {
  // A string, not a function: the tests compile without the DOM's types.
  await page.evaluate(`(() => {
    const h = ${hidden ? 'true' : 'false'}
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') })
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h })
    document.dispatchEvent(new Event('visibilitychange'))
  })()`)
}
