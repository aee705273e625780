// `tunnel diag` in the carrier-NAT lab: with a 1400-byte MTU on the NAT link both ends of the
// control connection report MSS 1348 and the path-MTU warning; a listener with backlog 8 whose
// process blocks its event loop, flooded from the visitor, shows a full accept queue, grown
// overflow counters and the advice; with conntrack forgetting idle mappings after 5 s, `diag
// nat-timeout` brackets that within a second and advises a heartbeat. Run by `npm run test:lab` (root).
import { spawn, type ChildProcess } from 'node:child_process'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { DiagReport } from '../../shared/diag/index.js'
import { parseNetstat } from '../../shared/diag/proc-parse.js'
import { parseSs } from '../../shared/diag/ss-parse.js'
import { cleanupCli, spawnCli, type CliHandle } from '../helpers/cli.js'
import { echoCheck, killProbes, labDown, labUnavailable, labUp, netlab, NS, nsRun, RELAY_V4, startEcho, startTunnel, sysctl } from './lab.js'
import type { NatTimeoutReport } from '../../shared/diag/nat-timeout.js'

const unavailable = labUnavailable()
if (unavailable !== undefined) console.warn(`lab suite not run: ${unavailable}`)

const ECHO_PORT = 8000
const CLIENT_ADMIN_PORT = 7400
const STUCK_PORT = 7200
const STUCK_BACKLOG = 8
const FLOOD_CONNECTS = 30
/** How long the stuck listener blocks its loop and the flood waits; both are killed by PID sooner. */
const STUCK_BLOCK_MS = 20_000
const FLOOD_HOLD_MS = 15_000

// A listener that never accepts: listen, then block the event loop (netlab README §4).
const STUCK = `
const net = require('node:net')
const [port, backlog, ms] = process.argv.slice(1).map(Number)
const s = net.createServer((c) => c.destroy())
s.listen({ host: '::', port, backlog }, () => {
  process.stdout.write('listening\\n')
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
  process.exit(0)
})`
// A bounded number of connects, held open until killed or the time is up.
const FLOOD = `
const net = require('node:net')
const [host, port, n, ms] = [process.argv[1], ...process.argv.slice(2).map(Number)]
for (let i = 0; i < n; i++) net.connect({ host, port }).on('error', () => {})
setTimeout(() => process.exit(0), ms)`

const helpers = new Set<ChildProcess>()

function nodeIn (ns: string, code: string, args: Array<string | number>): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code, ...args.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] })
  helpers.add(child)
  child.once('exit', () => helpers.delete(child))
  return child
}

function killHelpers (): void {
  for (const c of helpers) if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, 'SIGKILL')
  helpers.clear()
}

async function runDiag (ns: string, args: string[]): Promise<{ report: DiagReport, text: CliHandle }> {
  const h = spawnCli(['diag', '--json', '--log-format', 'json', ...args], { netns: ns })
  const { code } = await h.exit
  expect(code, h.stderr()).toBe(0)
  return { report: JSON.parse(h.stdout()) as DiagReport, text: h }
}

const listenOverflows = (ns: string): number => parseNetstat(nsRun(ns, 'cat', '/proc/net/netstat')).sections.TcpExt?.ListenOverflows ?? -1

async function until (what: string, check: () => boolean, withinMs: number): Promise<void> {
  const deadline = performance.now() + withinMs
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${withinMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe.skipIf(unavailable !== undefined)('tunnel diag in the lab', () => {
  beforeAll(() => { labUp() })
  afterAll(() => { labDown() })
  beforeEach(() => { labUp() })
  afterEach(async () => {
    killHelpers()
    killProbes()
    await cleanupCli()
  })

  it('reports MSS 1348 and the path-MTU warning at both ends of the control connection over a 1400-byte NAT link', async () => {
    await startEcho(NS.home, ECHO_PORT)
    netlab('mtu', '1400')
    const { relay, client, remotePort } = await startTunnel({ localPort: ECHO_PORT, adminPort: CLIENT_ADMIN_PORT })
    const r = await echoCheck(NS.visitor, RELAY_V4, remotePort, 4 * 1024 * 1024)
    expect(r.ok).toBe(true)
    const frps = relay.args[2] as string
    const frpc = client.args[2] as string
    for (const [ns, file, pid] of [[NS.public, frps, relay.pid], [NS.home, frpc, client.pid]] as const) {
      const { report } = await runDiag(ns, ['-c', file, '--watch', '0'])
      expect(report.control, ns).toHaveLength(1)
      expect(report.control[0]).toMatchObject({ mss: 1348, pathMtu: 1400, pid, maxUdpPayload: { ipv4: 1372, ipv6: 1352 } })
      const warning = report.findings.find((f) => f.id === 'path.mtu-below-1500')
      expect(warning?.what, ns).toMatch(/^MSS 1348 implies a path MTU of 1400 < 1500/)
      expect(warning?.advice).toMatch(/^UDP datagrams above 1372 bytes \(IPv4\)/)
      expect(report.unavailable).toEqual([])
    }
    // The client asks the relay for its side over the control connection itself (admin API).
    const asked = spawnCli(['diag', '--admin', `127.0.0.1:${CLIENT_ADMIN_PORT}`, '--json', '--watch', '0'], { netns: NS.home })
    expect((await asked.exit).code, asked.stderr()).toBe(0)
    const side = (JSON.parse(asked.stdout()) as DiagReport).relaySide
    expect(side !== undefined && 'control' in side ? side.control : []).toEqual([expect.objectContaining({ mss: 1348, pathMtu: 1400, pid: relay.pid })])
    expect(side !== undefined && 'findings' in side ? side.findings.map((f) => f.id) : []).toContain('path.mtu-below-1500')
    const human = spawnCli(['diag', '-c', frps, '--watch', '0'], { netns: NS.public })
    await human.exit
    expect(human.stdout()).toMatch(/^ {2}WARN +MSS 1348 implies a path MTU of 1400 < 1500 \(control connection 10\.200\.1\.2:\d+\)$/m)
  }, 90_000)

  it('shows a full accept queue, grown overflow counters and the advice for a flooded listener that does not accept', async () => {
    const stuck = nodeIn(NS.public, STUCK, [STUCK_PORT, STUCK_BACKLOG, STUCK_BLOCK_MS])
    await new Promise<void>((resolve, reject) => {
      stuck.stdout?.once('data', () => { resolve() })
      stuck.once('exit', (code) => { reject(new Error(`stuck listener exited ${String(code)}`)) })
    })
    const before = listenOverflows(NS.public)
    nodeIn(NS.visitor, FLOOD, [RELAY_V4, STUCK_PORT, FLOOD_CONNECTS, FLOOD_HOLD_MS])
    const listener = (): { recvQ: number, sendQ: number } | undefined => parseSs(nsRun(NS.public, 'ss', '-ltnH', `( sport = :${STUCK_PORT} )`), { state: 'LISTEN' }).sockets[0]
    await until('accept queue full', () => { const l = listener(); return l !== undefined && l.recvQ > l.sendQ }, 5_000)
    // Three seconds of samples: the refused clients retry their SYN after 1 s and 3 s.
    const { report } = await runDiag(NS.public, ['--port', String(STUCK_PORT), '--watch', '3'])
    expect(report.listeners).toEqual([expect.objectContaining({ port: STUCK_PORT, effective: STUCK_BACKLOG, maxQueued: STUCK_BACKLOG + 1, full: true, pid: stuck.pid })])
    expect(report.overflow.counters.ListenOverflows).toBeGreaterThan(before)
    expect(report.overflow.growth?.ListenOverflows).toBeGreaterThan(0)
    const ids = report.findings.map((f) => f.id)
    expect(ids.slice(0, 2)).toEqual(['backlog.queue-full', 'backlog.overflows-grew'])
    expect(report.findings[0]).toMatchObject({
      severity: 'error',
      what: `accept queue of *:${STUCK_PORT} is full: ${STUCK_BACKLOG + 1} waiting, max ${STUCK_BACKLOG} (pid ${stuck.pid})`,
      advice: expect.stringMatching(/^the process is not accepting fast enough \(event loop blocked\?\) or the backlog is too small/),
    })
    expect(report.findings[1]?.what).toMatch(/^ListenOverflows grew by \d+ in 3\.\d s/)
    expect(report.states.counts).toMatchObject({ LISTEN: 1, ESTAB: STUCK_BACKLOG + 1 })
  }, 60_000)

  it('finds a 5 s NAT timeout with nat-timeout, within a second or two, cancels the longer probes, and advises a heartbeat below it', async () => {
    sysctl(NS.cgnat, 'net.netfilter.nf_conntrack_tcp_timeout_established=5')
    await startEcho(NS.home, ECHO_PORT)
    const { client } = await startTunnel({ localPort: ECHO_PORT, heartbeatInterval: 1, heartbeatTimeout: 4 })
    const frpc = client.args[2] as string
    const started = performance.now()
    const h = spawnCli(['diag', 'nat-timeout', '-c', frpc, '--max', '30', '--json', '--log-format', 'json'], { netns: NS.home })
    const { code } = await h.exit
    expect(code, h.stderr()).toBe(0)
    const r = JSON.parse(h.stdout()) as NatTimeoutReport
    console.log(`lab: conntrack established timeout 5 s; nat-timeout says between ${r.aliveUpToS} s and ${r.deadFromS} s, in ${Math.round(performance.now() - started)} ms`)
    expect(r.deadFromS).toBeGreaterThanOrEqual(5)
    expect(r.deadFromS).toBeLessThanOrEqual(7)
    expect(r.aliveUpToS).toBeGreaterThanOrEqual(4)
    expect(r.aliveUpToS).toBeLessThan(r.deadFromS as number)
    // Longer idle times were cancelled, not waited for: the run ends soon after the first failure.
    expect(r.probes.filter((p) => p.idleS > (r.deadFromS as number)).every((p) => p.outcome === 'cancelled')).toBe(true)
    // heartbeatInterval 1 fits; the same NAT with the default 10 s does not.
    expect(r.findings[0]).toMatchObject({ id: 'nat.timeout', severity: 'info' })
    const frpcSlow = frpc.replace(/\.yml$/, '-slow.yml')
    const { readFileSync, writeFileSync } = await import('node:fs')
    writeFileSync(frpcSlow, readFileSync(frpc, 'utf8').replace(/heartbeatInterval: 1\b/, 'heartbeatInterval: 10').replace(/heartbeatTimeout: 4\b/, 'heartbeatTimeout: 40'))
    const slow = spawnCli(['diag', 'nat-timeout', '-c', frpcSlow, '--idle', '3', '--idle', '6'], { netns: NS.home })
    expect((await slow.exit).code, slow.stderr()).toBe(0)
    expect(slow.stdout()).toMatch(/timeout: between 3 s and 6 s/)
    expect(slow.stdout()).toMatch(/set transport\.heartbeatInterval to 1 s/)
  }, 60_000)
})
