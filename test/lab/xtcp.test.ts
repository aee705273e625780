// xtcp (peer to peer) between two NAT'd sites (netlab/p2plab.sh): each client behind its own NAT,
// the relay on the "internet". Plain masquerade (endpoint-independent mapping, ports kept) on
// both sides punches a direct path; masquerade random (symmetric) on both falls back to the
// relay; UDP dropped in one NAT mid-transfer ends the transfer and sends the next connection
// through the fallback; `tunnel diag nat` names each NAT kind. Run by `npm run test:lab` (root).
import { execFileSync, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { cleanupCli, logMsg, spawnCli, writeTempFile, type CliHandle } from '../helpers/cli.js'
import { echoCheck, killProbes, labUnavailable, startEcho } from './lab.js'

const unavailable = labUnavailable()
if (unavailable !== undefined) console.warn(`lab suite not run: ${unavailable}`)

const P2PLAB = fileURLToPath(new URL('./netlab/p2plab.sh', import.meta.url))
const FORGER = fileURLToPath(new URL('./netlab/punch-forger.py', import.meta.url))
const NS = { home: 'tp-home', visitor: 'tp-visitor', public: 'tp-public', inet: 'tp-inet' } as const
const HOME_NAT_WAN = '10.201.1.2'
const VISITOR_NAT_WAN = '10.201.4.2'
const RELAY = '10.201.2.10'
const TOKEN = 'lab-token'
const SECRET = 'a-long-random-secret-for-the-lab'
const ECHO_PORT = 8000
const VISITOR_PORT = 6000
const FALLBACK_TIMEOUT_MS = 2000
const MB = 1024 * 1024
const lab = (...args: string[]): void => { execFileSync(P2PLAB, args, { stdio: ['ignore', 'ignore', 'pipe'] }) }

interface P2pStatusLine { path: string, peer: string | null, reason: string | null, attempts: number, successes: number, connections: { direct: number, fallback: number }, nat: { mapping: string } | null, peerNat: { mapping: string } | null, punchRefusals?: Record<string, number> }
interface ProxyP2p { paths: { active: number, total: number }, failures: Record<string, number>, punchRefusals: Record<string, number> }

async function statusOf (config: string, ns: string): Promise<{ proxies: Array<{ name: string, bytesIn: number, bytesOut: number, p2p?: ProxyP2p }>, visitors?: Array<{ name: string, p2p?: P2pStatusLine }> }> {
  const h = spawnCli(['status', '-c', config, '--json'], { netns: ns })
  expect((await h.exit).code, h.stderr()).toBe(0)
  return JSON.parse(h.stdout()) as never
}

interface Lab { relay: CliHandle, relayConfig: string, visitor: CliHandle, visitorConfig: string, homeConfig: string }

async function startAll (): Promise<Lab> {
  const relayConfig = await writeTempFile('p2p-frps.yml', `bindAddr: 0.0.0.0\nbindPort: 7000\nauth:\n  token: ${TOKEN}\nwebServer:\n  port: 7400\n`)
  const relay = spawnCli(['server', '-c', relayConfig, '--log-format', 'json'], { netns: NS.public })
  await relay.waitForLog(logMsg('relay listening'), 15_000)
  const homeConfig = await writeTempFile('p2p-home.yml', [
    `serverAddr: ${RELAY}`, 'serverPort: 7000', 'user: home', `auth:\n  token: ${TOKEN}`, 'webServer:\n  port: 7402',
    'proxies:',
    `  - { name: p2p, type: xtcp, localPort: ${ECHO_PORT}, secretKey: ${SECRET}, allowUsers: ['*'] }`,
    `  - { name: p2p-relay, type: stcp, localPort: ${ECHO_PORT}, secretKey: ${SECRET}, allowUsers: ['*'] }`,
  ].join('\n') + '\n')
  const home = spawnCli(['client', '-c', homeConfig, '--log-format', 'json'], { netns: NS.home })
  await home.waitForLog((l) => l.msg === 'proxy registered' && l.proxy === 'home.p2p', 15_000)
  const visitorConfig = await writeTempFile('p2p-visitor.yml', [
    `serverAddr: ${RELAY}`, 'serverPort: 7000', 'user: laptop', `auth:\n  token: ${TOKEN}`, 'webServer:\n  port: 7401',
    'visitors:',
    `  - { name: p2p, type: xtcp, serverUser: home, serverName: p2p, secretKey: ${SECRET}, bindPort: ${VISITOR_PORT}, fallbackTo: relayed, fallbackTimeoutMs: ${FALLBACK_TIMEOUT_MS} }`,
    `  - { name: relayed, type: stcp, serverUser: home, serverName: p2p-relay, secretKey: ${SECRET}, bindPort: -1 }`,
  ].join('\n') + '\n')
  const visitor = spawnCli(['client', '-c', visitorConfig, '--log-format', 'json'], { netns: NS.visitor })
  await visitor.waitForLog(logMsg('logged in'), 15_000)
  return { relay, relayConfig, visitor, visitorConfig, homeConfig }
}

/** Bytes the relay carried for the two secret proxies (both directions). */
async function relayBytes (l: Lab): Promise<number> {
  const s = await statusOf(l.relayConfig, NS.public)
  return s.proxies.filter((p) => p.name.startsWith('home.')).reduce((n, p) => n + p.bytesIn + p.bytesOut, 0)
}

async function p2pOf (l: Lab): Promise<P2pStatusLine | undefined> {
  return (await statusOf(l.visitorConfig, NS.visitor)).visitors?.find((v) => v.name === 'p2p')?.p2p
}

interface ForgerReport { seen: number, sent: { badmac: number, replay: number, wrongkey: number }, targets: string[] }

/** The on-path forger (netlab/punch-forger.py) in the "internet" router; resolves once it listens. */
async function startForger (): Promise<{ done: () => Promise<ForgerReport> }> {
  const child = spawn('ip', ['netns', 'exec', NS.inet, 'python3', FORGER, '--seconds', '60', '--max', '20'], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (t: string) => { out += t })
  const exited = new Promise<void>((resolve) => { child.once('exit', () => { resolve() }) })
  await new Promise<void>((resolve, reject) => {
    const check = (): void => { if (out.includes('"ready"')) resolve() }
    child.stdout.on('data', check)
    child.once('exit', (code) => { reject(new Error(`the forger exited ${String(code)}: ${out}`)) })
  })
  return {
    done: async () => {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM')
      await exited
      return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as ForgerReport
    },
  }
}

describe.skipIf(unavailable !== undefined)('xtcp between two NAT\'d sites', () => {
  beforeAll(() => { lab('up') })
  afterAll(() => { lab('down') })
  beforeEach(async () => {
    lab('up')
    await startEcho(NS.home, ECHO_PORT)
  })
  afterEach(async () => {
    killProbes()
    await cleanupCli()
  })

  it('connects directly when both NATs map endpoint-independently: 50 MB cross byte-exact and the relay carries under 1 % of them', async () => {
    const l = await startAll()
    const r = await echoCheck(NS.visitor, '127.0.0.1', VISITOR_PORT, 50 * MB, 90_000)
    expect(r, r.why).toMatchObject({ ok: true, received: 50 * MB })
    const p2p = await p2pOf(l)
    expect(p2p).toMatchObject({ path: 'p2p', successes: 1, connections: { direct: 1, fallback: 0 }, nat: { mapping: 'endpoint-independent' }, peerNat: { mapping: 'endpoint-independent' } })
    expect(await relayBytes(l)).toBeLessThan(0.01 * 2 * 50 * MB)
    console.info(`xtcp direct: 50 MB echoed in ${r.ms} ms; relay carried ${await relayBytes(l)} bytes`)
  })

  it('falls back to the relay when both NATs are symmetric, within fallbackTimeoutMs plus a second, 50 MB byte-exact, and says why', async () => {
    lab('nat', 'home', 'symmetric')
    lab('nat', 'visitor', 'symmetric')
    const l = await startAll()
    const first = await echoCheck(NS.visitor, '127.0.0.1', VISITOR_PORT, 1024, 20_000)
    expect(first, first.why).toMatchObject({ ok: true })
    expect(first.ms).toBeLessThan(FALLBACK_TIMEOUT_MS + 1000)
    const r = await echoCheck(NS.visitor, '127.0.0.1', VISITOR_PORT, 50 * MB, 90_000)
    expect(r, r.why).toMatchObject({ ok: true, received: 50 * MB })
    // The punch gives up after its own timeout (5 s); by then the status names the reason.
    await new Promise((resolve) => setTimeout(resolve, 6_000))
    const p2p = await p2pOf(l)
    expect(p2p).toMatchObject({ path: 'relay', reason: 'punchTimeout', successes: 0, nat: { mapping: 'address-and-port-dependent' }, peerNat: { mapping: 'address-and-port-dependent' } })
    expect(p2p?.connections.fallback).toBe(2)
    expect(await relayBytes(l)).toBeGreaterThanOrEqual(2 * 50 * MB)
    // Given the visitor's name, tunnel diag nat judges the pair from what the punch learned, and says why not.
    const diag = spawnCli(['diag', 'nat', '-c', l.visitorConfig, '--proxy', 'p2p', '--json'], { netns: NS.visitor })
    expect((await diag.exit).code, diag.stderr()).toBe(0)
    const d = JSON.parse(diag.stdout()) as { nat: { mapping: string }, pair: { source: string, verdict: { verdict: string, canPunch: boolean, advice: string } } }
    expect(d.nat.mapping).toBe('address-and-port-dependent')
    expect(d.pair).toMatchObject({ source: 'visitor p2p (home.p2p)', verdict: { verdict: 'bothSymmetric', canPunch: false } })
    expect(d.pair.verdict.advice).toContain('relay')
  })

  it('ends the open transfer with an error when UDP to the direct path is dropped, and the next connection succeeds through the fallback within 5 s', async () => {
    const l = await startAll()
    expect((await echoCheck(NS.visitor, '127.0.0.1', VISITOR_PORT, 1024, 20_000)).ok).toBe(true)
    expect((await p2pOf(l))?.path).toBe('p2p')
    const transfer = echoCheck(NS.visitor, '127.0.0.1', VISITOR_PORT, 500 * MB, 60_000)
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    lab('dropudp', 'home', 'on')
    const r = await transfer
    expect(r.ok).toBe(false)
    expect(r.why).not.toBe('timeout')
    const next = await echoCheck(NS.visitor, '127.0.0.1', VISITOR_PORT, 1024 * 1024, 20_000)
    expect(next, next.why).toMatchObject({ ok: true })
    expect(next.ms).toBeLessThan(5_000)
    expect(await p2pOf(l)).toMatchObject({ path: 'relay', reason: 'closed' })
  })

  it('creates no path from punch packets forged without the secret by an on-path sender (bad MAC, replayed, wrong key): the path goes to the real peer and the forgeries are counted as refused', async () => {
    const l = await startAll()
    const forger = await startForger()
    let report: ForgerReport | undefined
    try {
      const r = await echoCheck(NS.visitor, '127.0.0.1', VISITOR_PORT, 4 * MB, 30_000)
      expect(r, r.why).toMatchObject({ ok: true, received: 4 * MB })
      // The forgeries land during the punch and its linger (PUNCH_LINGER_MS, 3 s): wait that out.
      await new Promise((resolve) => setTimeout(resolve, 4_000))
    } finally {
      report = await forger.done()
    }
    // The forger saw the real punches, and sent every kind of forgery at both sides' NAT mappings.
    expect(report.seen).toBeGreaterThan(0)
    expect(report.sent.badmac).toBeGreaterThan(0)
    expect(report.sent.replay).toBeGreaterThan(0)
    expect(report.sent.wrongkey).toBeGreaterThan(0)
    expect(report.targets.some((t) => t.startsWith(`${HOME_NAT_WAN}:`))).toBe(true)
    expect(report.targets.some((t) => t.startsWith(`${VISITOR_NAT_WAN}:`))).toBe(true)
    // The path is the real one: to the home NAT's mapping, made once, carrying the connection.
    const p2p = await p2pOf(l)
    expect(p2p).toMatchObject({ path: 'p2p', successes: 1, connections: { direct: 1, fallback: 0 } })
    expect(p2p?.peer?.startsWith(`${HOME_NAT_WAN}:`)).toBe(true)
    const home = (await statusOf(l.homeConfig, NS.home)).proxies.find((p) => p.name === 'home.p2p')
    expect(home?.p2p?.paths).toEqual({ active: 1, total: 1 })
    // Every forgery that reached a side was refused and counted, by kind, on that side.
    const refused = (k: string): number => (p2p?.punchRefusals?.[k] ?? 0) + (home?.p2p?.punchRefusals[k] ?? 0)
    expect(refused('forged')).toBeGreaterThan(0)
    expect(refused('replayed')).toBeGreaterThan(0)
    console.info(`forger: saw ${report.seen} punch packets, sent ${JSON.stringify(report.sent)}; refused at the visitor ${JSON.stringify(p2p?.punchRefusals)}, at the home ${JSON.stringify(home?.p2p?.punchRefusals)}`)
    // One more connection still goes directly (the forgeries did not disturb the path).
    expect((await echoCheck(NS.visitor, '127.0.0.1', VISITOR_PORT, 1024, 10_000)).ok).toBe(true)
    expect(await p2pOf(l)).toMatchObject({ path: 'p2p', successes: 1, connections: { direct: 2, fallback: 0 } })
  })

  it('tunnel diag nat names each NAT kind (endpoint-independent behind plain masquerade, symmetric behind masquerade random), its port preservation and its UDP mapping lifetime', async () => {
    const relayConfig = await writeTempFile('p2p-frps-diag.yml', `bindAddr: 0.0.0.0\nbindPort: 7000\nauth:\n  token: ${TOKEN}\n`)
    const relay = spawnCli(['server', '-c', relayConfig, '--log-format', 'json'], { netns: NS.public })
    await relay.waitForLog(logMsg('relay listening'), 15_000)
    lab('nat', 'visitor', 'symmetric')
    // Both NATs forget an idle UDP mapping after 5 s; probes at 1, 2, 4, 8 and 16 s bracket it.
    lab('udptimeout', 'home', '5')
    lab('udptimeout', 'visitor', '5')
    interface Diag { nat: { mapping: string, filtering: string, portPreserved: boolean }, lifetime: { atLeastMs: number | null, belowMs: number | null, summary: string } | null }
    const run = async (ns: string): Promise<Diag> => {
      const h = spawnCli(['diag', 'nat', '--stun', `${RELAY}:7000`, '--json', '--lifetime', '16'], { netns: ns })
      expect((await h.exit).code, h.stderr()).toBe(0)
      return JSON.parse(h.stdout()) as Diag
    }
    const [home, visitor, relayOwn] = await Promise.all([run(NS.home), run(NS.visitor), run(NS.public)])
    expect(home.nat).toMatchObject({ mapping: 'endpoint-independent', filtering: 'address-and-port-dependent', portPreserved: true })
    expect(home.lifetime).toMatchObject({ atLeastMs: 4_000, belowMs: 8_000 })
    expect(visitor.nat).toMatchObject({ mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent', portPreserved: false })
    expect(visitor.lifetime).toMatchObject({ atLeastMs: 4_000, belowMs: 8_000 })
    expect(relayOwn.nat.mapping).toBe('none')
    expect(relayOwn.lifetime).toBeNull()
    console.info(`diag nat lifetime at the home NAT: ${home.lifetime?.summary ?? ''}`)
  })
})
