// The advice rules (facts → findings with one line of advice) and both forms of the report.
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { advise, buildReport, hasProblems } from '../../shared/diag/advice/index.js'
import { controlConnections, keepaliveOf, listenersOf, overflowOf, type Sysctls } from '../../shared/diag/assemble.js'
import { parseNetstat } from '../../shared/diag/proc-parse.js'
import { renderReport } from '../../shared/diag/render.js'
import { COUNTERS, REPORT_SCHEMA, type DiagFacts, type Listener } from '../../shared/diag/report.js'
import { parseSs } from '../../shared/diag/ss-parse.js'
import type { DiagTarget } from '../../shared/diag/target.js'

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/diag/${name}`, import.meta.url), 'utf8')
const HOST_SYSCTLS = JSON.parse(fixture('host-sysctls.json')) as Sysctls
const ids = (f: DiagFacts): string[] => advise(f).map((x) => x.id)

const RELAY: DiagTarget = {
  role: 'relay', config: { file: 'frps.yml', kind: 'server' }, listen: [{ port: 7000, role: 'control', backlogAsked: 511 }],
  control: { by: 'local-port', port: 7000 }, ownedListenerBacklog: 511, ports: [],
  heartbeat: { intervalS: null, timeoutS: 90 }, sockets: [{ kind: 'control', keepAliveMs: 30_000 }, { kind: 'visitor', keepAliveMs: null }],
}
const CLIENT: DiagTarget = {
  ...RELAY, role: 'client', config: { file: 'frpc.yml', kind: 'client' }, listen: [], ownedListenerBacklog: null,
  control: { by: 'peer', port: 7000, hosts: ['10.200.2.10'] }, heartbeat: { intervalS: 10, timeoutS: 40 },
  sockets: [{ kind: 'control', keepAliveMs: 30_000 }, { kind: 'local-service', keepAliveMs: null }],
}

function facts (target: DiagTarget, over: Partial<DiagFacts> = {}): DiagFacts {
  const control = over.control ?? []
  return {
    schema: REPORT_SCHEMA,
    generatedAt: '2026-01-01T00:00:00.000Z',
    role: target.role,
    config: target.config,
    host: { platform: 'linux', kernel: '6.18.44', node: 'v20.20.2', ss: 'iproute2-6.1.0' },
    samples: 2,
    windowMs: 1000,
    ports: [7000],
    sysctls: HOST_SYSCTLS,
    controlExpected: target.control === null ? null : 'established on local port 7000',
    control,
    listeners: [],
    missingListeners: [],
    overflow: overflowOf({}, {}, 1000),
    keepalive: keepaliveOf(target, HOST_SYSCTLS, control),
    states: { ports: [7000], counts: {}, byPort: [], namespace: { inuse: 10, timeWait: 0, orphans: 0 } },
    fds: { pid: 123, source: 'owner of port 7000', open: 30, softLimit: 20000, hardLimit: 20000 },
    unavailable: [],
    ...over,
  }
}

const listener = (over: Partial<Listener>): Listener => ({
  port: 7000, local: '*:7000', role: 'control', pid: 1, backlogAsked: 511, somaxconn: 4096, effective: 511, queued: 0, maxQueued: 0, full: false, ...over,
})

describe('path advice', () => {
  it('warns about a path MTU below 1500 with the UDP payload limit, at both ends of the lab path', () => {
    for (const [target, file] of [[RELAY, 'lab-mtu1400-public-ss-tinop.txt'], [CLIENT, 'lab-mtu1400-home-ss-tinop.txt']] as const) {
      const control = controlConnections(parseSs(fixture(file)).sockets, target.control, HOST_SYSCTLS)
      const found = advise(facts(target, { control })).find((f) => f.id === 'path.mtu-below-1500')
      expect(found?.severity).toBe('warn')
      expect(found?.what).toMatch(/^MSS 1348 implies a path MTU of 1400 < 1500 \(control connection /)
      expect(found?.advice).toBe('UDP datagrams above 1372 bytes (IPv4) / 1352 bytes (IPv6) will be fragmented on this path: keep UDP payloads at or below that; set net.ipv4.tcp_mtu_probing=1 if ICMP is filtered (PMTU black holes stall TCP)')
    }
  })

  it('names the peer\'s direction when only rcvmss shows the small path, and drops the probing hint when it is on', () => {
    const sockets = parseSs(fixture('lab-ipv6-mtu1400-visitor-ss-tino.txt')).sockets
    const control = controlConnections(sockets, { by: 'peer', port: 7300, hosts: null }, HOST_SYSCTLS)
    const [f] = advise(facts(CLIENT, { control, sysctls: { ...HOST_SYSCTLS, 'net.ipv4.tcp_mtu_probing': 1 } })).filter((x) => x.id === 'path.mtu-below-1500')
    expect(f?.what).toMatch(/^the peer's segments \(rcvmss 1328\) imply a path MTU of 1400 < 1500/)
    expect(f?.advice).not.toMatch(/tcp_mtu_probing/)
  })

  it('says nothing about a 1500-byte or loopback path, and groups many control connections', () => {
    const loop = controlConnections(parseSs(fixture('host-ss-tin-established.txt')).sockets, { by: 'local-port', port: 39739 }, HOST_SYSCTLS)
    expect(ids(facts(RELAY, { control: loop }))).not.toContain('path.mtu-below-1500')
    const one = controlConnections(parseSs(fixture('lab-mtu1400-public-ss-tin.txt')).sockets, RELAY.control, HOST_SYSCTLS)
    const three = [...one, ...one, ...one]
    const found = advise(facts(RELAY, { control: three })).filter((f) => f.id === 'path.mtu-below-1500')
    expect(found.length).toBe(1)
    expect(found[0]?.what).toMatch(/\(3 of 3 control connections\)$/)
  })

  it('warns when no control connection is seen, unless ss is missing or the relay is not listening', () => {
    expect(ids(facts(RELAY))).toContain('control.not-found')
    expect(ids(facts(RELAY, { unavailable: [{ fact: 'ss', code: 'TUN_DIAG_SOURCE', reason: 'ss not found' }] }))).not.toContain('control.not-found')
    const notRunning = ids(facts(RELAY, { missingListeners: [{ port: 7000, role: 'control' }] }))
    expect(notRunning).toContain('listener.missing')
    expect(notRunning).not.toContain('control.not-found')
  })
})

describe('backlog advice', () => {
  it('says a backlog is capped by somaxconn, once for all the ports it caps', () => {
    const ls = [listener({ somaxconn: 128, effective: 128 }), listener({ port: 6000, local: '*:6000', role: 'proxy', somaxconn: 128, effective: 128 })]
    const found = advise(facts(RELAY, { listeners: ls })).filter((f) => f.id === 'backlog.capped')
    expect(found).toEqual([{
      id: 'backlog.capped',
      severity: 'warn',
      what: 'backlog 511 is capped to somaxconn 128 (ports 7000, 6000)',
      advice: 'raise net.core.somaxconn to 511 or more (sysctl -w net.core.somaxconn=4096, and in /etc/sysctl.d/ to keep it)',
    }])
  })

  it('reports a full accept queue and the growth of ListenOverflows as errors, a waiting queue as a warning', () => {
    const before = parseNetstat(fixture('lab-backlog8-netstat-before.txt')).sections.TcpExt ?? null
    const after = parseNetstat(fixture('lab-backlog8-netstat-after.txt')).sections.TcpExt ?? null
    const flooded = listenersOf([parseSs(fixture('lab-backlog8-ss-ltnp.txt')).sockets], [{ port: 7200, role: 'port', backlogAsked: null }], { ports: [], backlog: null }, 4096)
    const found = advise(facts({ ...RELAY, role: 'ports', control: null, heartbeat: null, sockets: [] }, { listeners: flooded, overflow: overflowOf(before, after, 2000) }))
    expect(found.slice(0, 2)).toEqual([
      {
        id: 'backlog.queue-full',
        severity: 'error',
        what: 'accept queue of *:7200 is full: 9 waiting, max 8 (pid 17197)',
        advice: 'the process is not accepting fast enough (event loop blocked?) or the backlog is too small; new connections are dropped until their SYN retry finds room',
      },
      {
        id: 'backlog.overflows-grew',
        severity: 'error',
        what: 'ListenOverflows grew by 42 in 2.0 s (ListenDrops +42; now 42)',
        advice: 'an accept queue overflowed: the process is not accepting fast enough (event loop blocked?) or the backlog is too small (the counters cover every listener of this network namespace)',
      },
    ])
    expect(advise(facts(RELAY, { listeners: [listener({ maxQueued: 3 })] })).find((f) => f.id === 'backlog.queue-waiting')?.severity).toBe('warn')
  })

  it('mentions old overflow counts only where there are listeners, and asks for --watch', () => {
    const overflow = { counters: { ...overflowOf(null, null, 0).counters, ListenOverflows: 84, ListenDrops: 84 }, growth: null, growthOverMs: null }
    expect(ids(facts(RELAY, { overflow, listeners: [listener({})] }))).toContain('backlog.overflows-counted')
    expect(ids(facts(CLIENT, { overflow }))).not.toContain('backlog.overflows-counted')
  })

  it('flags SYN-side sysctls that are off', () => {
    const sysctls = { ...HOST_SYSCTLS, 'net.ipv4.tcp_syncookies': 0, 'net.ipv4.tcp_abort_on_overflow': 1, 'net.ipv4.tcp_max_syn_backlog': 128 }
    const found = ids(facts(RELAY, { sysctls, listeners: [listener({})] }))
    expect(found).toEqual(expect.arrayContaining(['backlog.syncookies-off', 'backlog.abort-on-overflow', 'backlog.syn-backlog-small']))
  })
})

describe('keepalive advice', () => {
  it('says how long a dead peer takes to be noticed on each side', () => {
    const relay = advise(facts(RELAY)).find((f) => f.id === 'keepalive.detection')
    expect(relay?.what).toBe('a dead client is noticed after 40 s when the tunnel is idle (TCP keepalive), 90 s with data in flight (heartbeat timeout)')
    const client = advise(facts(CLIENT)).find((f) => f.id === 'keepalive.detection')
    expect(client?.what).toBe('a dead relay is noticed after 40 s when the tunnel is idle (heartbeat timeout), 40 s with data in flight (heartbeat timeout)')
  })

  it('warns when the client\'s heartbeat is off or tight', () => {
    const off = { ...CLIENT, heartbeat: { intervalS: 0, timeoutS: 0 } }
    expect(ids(facts(off))).toEqual(expect.arrayContaining(['keepalive.heartbeat-off', 'keepalive.heartbeat-timeout-off']))
    const noTimeout = advise(facts(off)).find((f) => f.id === 'keepalive.heartbeat-timeout-off')
    expect(noTimeout?.what).toMatch(/~925 s \(~15 min\), tcp_retries2 15\)$/)
    expect(ids(facts({ ...CLIENT, heartbeat: { intervalS: 10, timeoutS: 15 } }))).toContain('keepalive.timeout-tight')
  })

  it('warns when the RTT nears the heartbeat timeout and when a keepalive timer shows the delay did not apply', () => {
    const control = controlConnections(parseSs(fixture('lab-mtu1400-home-ss-tinop.txt')).sockets, CLIENT.control, HOST_SYSCTLS)
    const slow = facts(CLIENT, { control, keepalive: { ...keepaliveOf(CLIENT, HOST_SYSCTLS, control), controlRttMs: 12_000 } })
    expect(ids(slow)).toContain('keepalive.rtt-near-timeout')
    const stuck = control.map((c) => ({ ...c, keepaliveTimer: { remainingMs: 7_140_000, probesSent: 0 } }))
    expect(advise(facts(CLIENT, { control: stuck })).find((f) => f.id === 'keepalive.not-applied')?.what).toMatch(/runs 7140 s \(~119 min\), longer than the 30 s/)
    expect(ids(facts(CLIENT, { control }))).not.toContain('keepalive.not-applied')
  })
})

describe('state and fd advice', () => {
  it('warns about a CLOSE-WAIT pile-up and fds near the limit', () => {
    const states = { ports: [7000], counts: { 'CLOSE-WAIT': 9 }, byPort: [{ port: 7000, counts: { 'CLOSE-WAIT': 9, ESTAB: 3 } }], namespace: { inuse: 12, timeWait: 30_000, orphans: 0 } }
    const f = advise(facts(RELAY, { states, fds: { pid: 9, source: 'owner of port 7000', open: 950, softLimit: 1024, hardLimit: 4096 } }))
    expect(f.find((x) => x.id === 'states.close-wait')).toMatchObject({ severity: 'warn', what: '9 sockets in CLOSE-WAIT on port 7000' })
    expect(f.find((x) => x.id === 'states.close-wait')?.advice).toMatch(/^CLOSE-WAIT pile-up: a program never closes its sockets/)
    expect(f.find((x) => x.id === 'fds.near-limit')).toMatchObject({ severity: 'error', what: 'owner of port 7000 (pid 9) has 950 fds open of its limit 1024' })
    expect(f.find((x) => x.id === 'states.time-wait')?.severity).toBe('info')
    expect(f[0]?.severity).toBe('error') // most severe first
  })

  it('notes a low fd limit for the relay or client only', () => {
    const fds = { pid: 9, source: 'owner of port 7000', open: 20, softLimit: 1024, hardLimit: 4096 }
    expect(ids(facts(RELAY, { fds }))).toContain('fds.low-limit')
    expect(ids(facts({ ...RELAY, role: 'ports' }, { fds }))).not.toContain('fds.low-limit')
  })
})

describe('the report', () => {
  it('keeps a stable JSON shape: every key present, unknown numbers null', () => {
    const control = controlConnections(parseSs(fixture('host-ss-tin-established.txt')).sockets, { by: 'local-port', port: 39739 }, HOST_SYSCTLS)
    const report = buildReport(facts(CLIENT, { control }))
    expect(Object.keys(report)).toEqual([
      'schema', 'generatedAt', 'role', 'config', 'host', 'samples', 'windowMs', 'ports', 'sysctls', 'controlExpected', 'control',
      'listeners', 'missingListeners', 'overflow', 'keepalive', 'states', 'fds', 'unavailable', 'findings',
    ])
    expect(Object.keys(report.overflow.counters)).toEqual([...COUNTERS])
    expect(JSON.parse(JSON.stringify(report))).toEqual(report)
    expect(hasProblems(report)).toBe(false)
    expect(hasProblems(buildReport(facts(RELAY)))).toBe(true) // control.not-found is a warning
  })

  it('renders tables, findings with their advice and what was not available', () => {
    const control = controlConnections(parseSs(fixture('lab-mtu1400-public-ss-tinop.txt')).sockets, RELAY.control, HOST_SYSCTLS)
    const text = renderReport(buildReport(facts(RELAY, {
      control,
      listeners: [listener({ maxQueued: 9, full: true, effective: 8, backlogAsked: null, role: 'port' })],
      unavailable: [{ fact: '/proc/net/netstat', code: 'TUN_DIAG_SOURCE', reason: 'no permission' }],
    })))
    expect(text).toMatch(/^tunnel diag: relay \(frps\.yml\); 2 sample\(s\) over 1\.0 s$/m)
    expect(text).toMatch(/^ {2}10\.200\.1\.2:38616 +1348 +1400 +1348 +1400 +1372\/1352 /m)
    expect(text).toMatch(/9 FULL/)
    expect(text).toMatch(/^ {2}WARN +MSS 1348 implies a path MTU of 1400 < 1500/m)
    expect(text).toMatch(/^ {8}-> UDP datagrams above 1372 bytes/m)
    expect(text).toMatch(/^Not available\n {2}\/proc\/net\/netstat: no permission \(TUN_DIAG_SOURCE\)$/m)
  })
})

describe('the finding catalogue', () => {
  it('documents every finding id in docs/diagnostics.md and nothing else', () => {
    const dir = new URL('../../shared/diag/advice/', import.meta.url)
    const inCode = readdirSync(dir).flatMap((f) => [...readFileSync(new URL(f, dir), 'utf8').matchAll(/\bid: '([a-z]+\.[a-z0-9-]+)'/g)].map((m) => m[1]))
    const doc = readFileSync(new URL('../../docs/diagnostics.md', import.meta.url), 'utf8')
    const inDoc = [...doc.matchAll(/^\| `([a-z]+\.[a-z0-9-]+)` \|/gm)].map((m) => m[1])
    expect([...new Set(inCode)].sort()).toEqual([...inDoc].sort())
  })
})
