// The readers and the collector with stand-ins: a fake `ss` (a shell script printing recorded
// output) and a fake /proc tree, so every "cannot read" path is exercised without root or a lab.
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildReport } from '../../shared/diag/advice/index.js'
import { collectFacts, portFilter, MAX_FILTER_PORTS } from '../../shared/diag/collect.js'
import { SYSCTLS } from '../../shared/diag/report.js'
import { readFdCount, readProc, runSs, ssVersion } from '../../shared/diag/sources.js'
import type { DiagTarget } from '../../shared/diag/target.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/diag/', import.meta.url))
let dir: string
let proc: string
let fakeSs: string

const RELAY: DiagTarget = {
  role: 'relay', config: { file: 'frps.yml', kind: 'server' }, listen: [{ port: 7000, role: 'control', backlogAsked: 511 }],
  control: { by: 'local-port', port: 7000 }, ownedListenerBacklog: 511, ports: [],
  heartbeat: { intervalS: null, timeoutS: 90 }, sockets: [{ kind: 'control', keepAliveMs: 30_000 }, { kind: 'visitor', keepAliveMs: null }],
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tunnel-diag-'))
  proc = join(dir, 'proc')
  // /proc/sys from the recorded sysctls, /proc/net from the lab's backlog run, pid 16855 = the lab relay.
  const sysctls = JSON.parse(await readFile(join(FIXTURES, 'host-sysctls.json'), 'utf8')) as Record<string, number>
  for (const name of SYSCTLS) {
    const path = join(proc, 'sys', ...name.split('.'))
    await mkdir(join(path, '..'), { recursive: true })
    await writeFile(path, `${sysctls[name]}\n`)
  }
  await mkdir(join(proc, 'net'), { recursive: true })
  await copyFile(join(FIXTURES, 'lab-backlog8-netstat-before.txt'), join(proc, 'net', 'netstat'))
  await copyFile(join(FIXTURES, 'lab-backlog8-sockstat.txt'), join(proc, 'net', 'sockstat'))
  await mkdir(join(proc, '16855', 'fd'), { recursive: true })
  for (let i = 0; i < 5; i++) await writeFile(join(proc, '16855', 'fd', String(i)), '')
  await copyFile(join(FIXTURES, 'limits-nofile-256.txt'), join(proc, '16855', 'limits'))
  // The sample: the relay's control connection at MTU 1400 plus its two listeners.
  const sample = (await readFile(join(FIXTURES, 'lab-mtu1400-public-ss-tinop.txt'), 'utf8')) + (await readFile(join(FIXTURES, 'lab-public-ss-ltnp-relay.txt'), 'utf8'))
  await writeFile(join(dir, 'sample.txt'), sample)
  await writeFile(join(dir, 'calls'), '0')
  fakeSs = join(dir, 'ss')
  await writeFile(fakeSs, [
    '#!/bin/sh',
    '# fake ss: -V prints the version, -l the listeners, anything else a sample; from the second',
    '# sample on the overflow counters have grown (the recorded after-flood /proc/net/netstat).',
    `D='${dir}'`,
    'case "$*" in',
    '  *-V*) echo "ss utility, iproute2-6.1.0" ;;',
    `  *-l*) cat '${join(FIXTURES, 'lab-public-ss-ltnp-relay.txt')}' ;;`,
    '  *) n=$(cat "$D/calls"); echo $((n + 1)) > "$D/calls"',
    // Replace the file atomically: the collector may be reading it while this "ss" runs.
    `     if [ "$n" -ge 1 ]; then cp '${join(FIXTURES, 'lab-backlog8-netstat-after.txt')}' "$D/netstat.tmp" && mv "$D/netstat.tmp" "$D/proc/net/netstat"; fi`,
    '     cat "$D/sample.txt" ;;',
    'esac',
    '',
  ].join('\n'))
  await chmod(fakeSs, 0o755)
})

afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

describe('readers', () => {
  it('runs ss without a shell and returns its output', async () => {
    expect(await ssVersion({ ssPath: fakeSs })).toBe('iproute2-6.1.0')
    const r = await runSs(['-H', '-l', '-t', '-n', '-p'], { ssPath: fakeSs })
    expect(r.ok && r.value.includes('*:7000')).toBe(true)
  })

  it('says why ss could not be run: missing, failing, too slow, not Linux', async () => {
    expect(await runSs(['-V'], { ssPath: join(dir, 'no-such-ss') })).toEqual({ ok: false, code: 'TUN_DIAG_SOURCE', reason: `${join(dir, 'no-such-ss')} not found (install iproute2)` })
    const failing = join(dir, 'failing-ss')
    await writeFile(failing, '#!/bin/sh\necho "ss: bad filter" >&2\nexit 1\n')
    await chmod(failing, 0o755)
    expect(await runSs(['-t'], { ssPath: failing })).toMatchObject({ ok: false, reason: `${failing} -t failed: ss: bad filter` })
    const slow = join(dir, 'slow-ss')
    await writeFile(slow, '#!/bin/sh\nexec sleep 60\n')
    await chmod(slow, 0o755)
    const started = performance.now()
    expect(await runSs(['-t'], { ssPath: slow, ssTimeoutMs: 200 })).toMatchObject({ ok: false, reason: `${slow} did not finish within 200 ms` })
    // Killed at its timeout, not waited for (a generous bound: the script would take a minute).
    expect(performance.now() - started).toBeLessThan(30_000)
    expect(await runSs(['-t'], { platform: 'darwin' })).toMatchObject({ ok: false, reason: 'not Linux (darwin): the kernel facts come from ss and /proc' })
    expect(await ssVersion({ ssPath: join(dir, 'no-such-ss') })).toBeNull()
  })

  it('reads /proc files and fd counts, or says which path is missing', async () => {
    expect(await readProc('sys/net/core/somaxconn', { procRoot: proc })).toEqual({ ok: true, value: '4096\n' })
    expect(await readProc('net/snmp', { procRoot: proc })).toEqual({ ok: false, code: 'TUN_DIAG_SOURCE', reason: `${join(proc, 'net', 'snmp')} does not exist` })
    expect(await readFdCount(16855, { procRoot: proc })).toEqual({ ok: true, value: 5 })
    expect(await readFdCount(1, { procRoot: proc })).toMatchObject({ ok: false })
    expect(await readProc('net/netstat', { platform: 'win32' })).toMatchObject({ ok: false, reason: /^not Linux/ })
  })

  it('filters ss by port, and leaves many ports to be picked out afterwards', () => {
    expect(portFilter([7000, 6000])).toEqual(['( sport = :7000 or dport = :7000 or sport = :6000 or dport = :6000 )'])
    expect(portFilter([])).toEqual([])
    expect(portFilter(Array.from({ length: MAX_FILTER_PORTS + 1 }, (_, i) => i + 1))).toEqual([])
  })
})

describe('collecting facts', () => {
  it('builds a relay report from ss and /proc: owner, proxy listener, path, counter growth, fds', async () => {
    await writeFile(join(dir, 'calls'), '0')
    await copyFile(join(FIXTURES, 'lab-backlog8-netstat-before.txt'), join(proc, 'net', 'netstat'))
    const facts = await collectFacts(RELAY, { windowMs: 400, sources: { ssPath: fakeSs, procRoot: proc } })
    const report = buildReport(facts)
    expect(report.unavailable).toEqual([])
    expect(report.samples).toBe(3)
    expect(report.windowMs).toBeGreaterThanOrEqual(350)
    expect(report.ports).toEqual([6000, 7000])
    expect(report.host.ss).toBe('iproute2-6.1.0')
    expect(report.sysctls['net.core.somaxconn']).toBe(4096)
    expect(report.control).toHaveLength(1)
    expect(report.control[0]).toMatchObject({ mss: 1348, pathMtu: 1400, pid: 16855 })
    expect(report.listeners.map((l) => [l.port, l.role, l.backlogAsked, l.effective, l.pid])).toEqual([[6000, 'proxy', 511, 511, 16855], [7000, 'control', 511, 511, 16855]])
    expect(report.missingListeners).toEqual([])
    expect(report.overflow.growth?.ListenOverflows).toBe(42)
    expect(report.states.byPort.find((p) => p.port === 7000)?.counts).toEqual({ ESTAB: 1, LISTEN: 1 })
    expect(report.fds).toEqual({ pid: 16855, source: 'owner of port 7000', open: 5, softLimit: 256, hardLimit: 1024 })
    expect(report.findings.map((f) => f.id)).toEqual(expect.arrayContaining(['path.mtu-below-1500', 'backlog.overflows-grew', 'keepalive.detection', 'fds.low-limit']))
  })

  it('stops sampling when its signal aborts and reports what it has', async () => {
    // Aborted while it waits for its second sample (one per second over a 10 s window).
    await writeFile(join(dir, 'calls'), '0')
    const stop = new AbortController()
    const collecting = collectFacts(RELAY, { windowMs: 10_000, sources: { ssPath: fakeSs, procRoot: proc }, signal: stop.signal })
    await expect.poll(async () => Number(await readFile(join(dir, 'calls'), 'utf8'))).toBeGreaterThan(0) // the first sample ran ss
    stop.abort()
    const facts = await collecting
    expect(facts.samples).toBe(1)
    expect(facts.windowMs).toBe(0)
    expect(facts.control[0]?.mss).toBe(1348)
  })

  it('still reports what it can without ss', async () => {
    const facts = await collectFacts(RELAY, { windowMs: 0, sources: { ssPath: join(dir, 'no-such-ss'), procRoot: proc } })
    expect(facts.unavailable[0]).toEqual({ fact: 'ss', code: 'TUN_DIAG_SOURCE', reason: `${join(dir, 'no-such-ss')} not found (install iproute2)` })
    // No owner known without ss: the fds are this process's, which the fake /proc lacks.
    expect(facts.unavailable.map((u) => u.fact)).toEqual(['ss', 'fds', 'fd limit'])
    expect(facts.fds).toMatchObject({ source: 'this process', pid: process.pid, open: null })
    expect(facts.host.ss).toBeNull()
    expect(facts.control).toEqual([])
    expect(facts.missingListeners).toEqual([])
    expect(facts.sysctls['net.ipv4.tcp_retries2']).toBe(15)
    expect(facts.overflow.growth).toBeNull()
    expect(buildReport(facts).findings.map((f) => f.id)).not.toContain('control.not-found')
  })

  it('says once that nothing can be read off Linux', async () => {
    const facts = await collectFacts(RELAY, { windowMs: 0, sources: { platform: 'darwin' } })
    expect(facts.unavailable).toEqual([{ fact: 'kernel facts', code: 'TUN_DIAG_SOURCE', reason: 'not Linux (darwin): the kernel facts come from ss and /proc' }])
    expect(Object.values(facts.sysctls).every((v) => v === null)).toBe(true)
    expect(facts.host.kernel).toBeNull()
    expect(facts.fds.open).toBeNull()
  })

  it('reports a sysctl that is not a number as a parse problem', async () => {
    const odd = join(dir, 'proc-odd')
    await mkdir(join(odd, 'sys', 'net', 'core'), { recursive: true })
    await writeFile(join(odd, 'sys', 'net', 'core', 'somaxconn'), 'lots\n')
    const facts = await collectFacts({ ...RELAY, listen: [], control: null }, { windowMs: 0, sources: { ssPath: fakeSs, procRoot: odd } })
    expect(facts.unavailable).toContainEqual({ fact: 'net.core.somaxconn', code: 'TUN_DIAG_PARSE', reason: 'not a number: lots' })
    expect(facts.unavailable.map((u) => u.fact)).toContain('net.ipv4.tcp_retries2')
    expect(facts.unavailable.map((u) => u.fact)).not.toContain('net.ipv4.tcp_rto_max_ms') // optional: kernels before 6.15
    expect(facts.sysctls['net.core.somaxconn']).toBeNull()
  })
})
