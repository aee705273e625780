// The pure model under the report: path MTU arithmetic, what keepalive and the heartbeat add up
// to, and turning parsed samples (recorded in the lab) into control connections, listeners,
// state counts and counter growth.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { controlConnections, keepaliveOf, listenersOf, overflowOf, ownedListenerPorts, statesOf, type Sysctls } from '../../shared/diag/assemble.js'
import { deadPeerDetection, keepaliveGiveUpS, nodeKeepalive, retransmitGiveUpS } from '../../shared/diag/keepalive.js'
import { estimatePath, maxUdpPayload, mtuFromMss, rcvMssIsPeerMss } from '../../shared/diag/path-mtu.js'
import { parseNetstat, parseSockstat } from '../../shared/diag/proc-parse.js'
import { parseSs } from '../../shared/diag/ss-parse.js'
import type { DiagTarget } from '../../shared/diag/target.js'

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/diag/${name}`, import.meta.url), 'utf8')
const sockets = (name: string, state?: string) => parseSs(fixture(name), state === undefined ? {} : { state }).sockets

/** Recorded from /proc/sys on this machine (test/fixtures/diag/host-sysctls.json). */
const HOST_SYSCTLS = JSON.parse(fixture('host-sysctls.json')) as Sysctls

describe('path MTU arithmetic', () => {
  it('turns an MSS into the path MTU it implies and a UDP payload limit', () => {
    expect(mtuFromMss(1348, 'ipv4')).toBe(1400)
    expect(mtuFromMss(1448, 'ipv4')).toBe(1500)
    expect(mtuFromMss(1328, 'ipv6')).toBe(1400)
    expect(mtuFromMss(1460, 'ipv4', false)).toBe(1500)
    expect(maxUdpPayload(1400, 'ipv4')).toBe(1372)
    expect(maxUdpPayload(1400, 'ipv6')).toBe(1352)
    expect(maxUdpPayload(1500, 'ipv4')).toBe(1472)
  })

  it('takes the smaller of pmtu and the MSS, so an MSS clamp shows too', () => {
    expect(estimatePath({ flags: [], mss: 1348, pmtu: 1400 }, 'ipv4', true).pathMtu).toBe(1400)
    expect(estimatePath({ flags: [], mss: 1348, pmtu: 1500 }, 'ipv4', true).pathMtu).toBe(1400) // clamped on the way
    expect(estimatePath({ flags: [], mss: 1460, pmtu: 1500 }, 'ipv4', true).pathMtu).toBe(1500) // no timestamps after all
    expect(estimatePath({ flags: [] }, 'ipv4', true)).toEqual({ sendPathMtu: null, peerPathMtu: null, pathMtu: null })
  })

  it('trusts rcvmss only once the peer has sent full-sized segments', () => {
    const [receiver] = sockets('lab-ipv6-mtu1400-visitor-ss-tino.txt')
    expect(receiver?.info).toMatchObject({ mss: 1428, pmtu: 1500, rcvmss: 1328 })
    expect(rcvMssIsPeerMss(receiver?.info ?? { flags: [] })).toBe(true)
    expect(estimatePath(receiver?.info ?? { flags: [] }, 'ipv6', true)).toEqual({ sendPathMtu: 1500, peerPathMtu: 1400, pathMtu: 1400 })
    expect(rcvMssIsPeerMss({ flags: [], rcvmss: 536, dataSegsIn: 100, bytesReceived: 53600 })).toBe(false)
    expect(rcvMssIsPeerMss({ flags: [], rcvmss: 1000, dataSegsIn: 3, bytesReceived: 3000 })).toBe(false)
    expect(rcvMssIsPeerMss({ flags: [], rcvmss: 1348, dataSegsIn: 100, bytesReceived: 20000 })).toBe(false) // small writes
  })
})

describe('keepalive and dead-peer arithmetic', () => {
  const ks = { timeS: 7200, intvlS: 75, probes: 9 }

  it('applies libuv\'s fixed interval and count for delays of a second or more', () => {
    expect(nodeKeepalive(30_000, ks)).toMatchObject({ enabled: true, idleS: 30, intervalS: 1, probes: 10 })
    expect(nodeKeepalive(1_500, ks)).toMatchObject({ idleS: 1 })
    expect(keepaliveGiveUpS(nodeKeepalive(30_000, ks))).toBe(40)
  })

  it('falls back to the sysctls for a delay under a second (EINVAL trap), and is off for none', () => {
    expect(nodeKeepalive(500, ks)).toMatchObject({ enabled: true, idleS: 7200, intervalS: 75, probes: 9 })
    expect(keepaliveGiveUpS(nodeKeepalive(500, ks))).toBe(7200 + 75 * 9)
    expect(nodeKeepalive(null, ks)).toMatchObject({ enabled: false, idleS: null })
    expect(keepaliveGiveUpS(nodeKeepalive(null, ks))).toBeNull()
  })

  it('models tcp_retries2 as the kernel does (15 → 924.6 s, 5 → 12.6 s)', () => {
    expect(retransmitGiveUpS(15)).toBe(924.6)
    expect(retransmitGiveUpS(5)).toBe(12.6)
    expect(retransmitGiveUpS(8)).toBe(102.2)
    expect(retransmitGiveUpS(15, 60_000)).toBe(522.2) // 102.2 + 7 × 60
  })

  it('says which mechanism notices a dead peer first', () => {
    const control = nodeKeepalive(30_000, ks)
    // Client: its pings stay unacknowledged, so keepalive never runs; the heartbeat decides.
    expect(deadPeerDetection({ pingIntervalS: 10, heartbeatTimeoutS: 40, keepalive: control, retransmitS: 924.6 }))
      .toEqual({ idleS: 40, idleBy: 'heartbeat timeout', busyS: 40, busyBy: 'heartbeat timeout' })
    // Relay: sends nothing when idle, so keepalive (30 + 10 × 1 s) beats heartbeatTimeout 90.
    expect(deadPeerDetection({ pingIntervalS: 0, heartbeatTimeoutS: 90, keepalive: control, retransmitS: 924.6 }))
      .toEqual({ idleS: 40, idleBy: 'TCP keepalive', busyS: 90, busyBy: 'heartbeat timeout' })
    // Client without a heartbeat timeout: retransmissions of a ping.
    expect(deadPeerDetection({ pingIntervalS: 10, heartbeatTimeoutS: 0, keepalive: control, retransmitS: 924.6 }).idleS).toBe(934.6)
    expect(deadPeerDetection({ pingIntervalS: 0, heartbeatTimeoutS: 0, keepalive: nodeKeepalive(null, ks), retransmitS: null }).idleS).toBeNull()
  })
})

describe('facts from recorded samples', () => {
  it('finds the relay\'s control connection on bindPort and its path (MTU 1400 lab)', () => {
    const [c] = controlConnections(sockets('lab-mtu1400-public-ss-tinop.txt'), { by: 'local-port', port: 7000 }, HOST_SYSCTLS)
    expect(c).toMatchObject({
      local: '10.200.2.10:7000', peer: '10.200.1.2:38616', family: 'ipv4', pid: 16855, mss: 1348, pmtu: 1400, rcvmss: 1348,
      sendPathMtu: 1400, peerPathMtu: 1400, pathMtu: 1400, maxUdpPayload: { ipv4: 1372, ipv6: 1352 },
      rttMs: 0.402, retransTotal: 18, keepaliveTimer: { remainingMs: 28_000, probesSent: 0 },
    })
  })

  it('finds the client\'s control connection by the relay\'s address and port', () => {
    const all = sockets('lab-mtu1400-home-ss-tinop.txt')
    expect(controlConnections(all, { by: 'peer', port: 7000, hosts: ['10.200.2.10'] }, HOST_SYSCTLS)[0]).toMatchObject({ mss: 1348, pathMtu: 1400, pid: 16877 })
    expect(controlConnections(all, { by: 'peer', port: 7000, hosts: ['10.9.9.9'] }, HOST_SYSCTLS)).toEqual([])
    expect(controlConnections(all, { by: 'peer', port: 7000, hosts: null }, HOST_SYSCTLS).length).toBe(1)
    expect(controlConnections(all, null, HOST_SYSCTLS)).toEqual([])
  })

  it('finds the relay\'s proxy listeners by its pid', () => {
    expect(ownedListenerPorts(sockets('lab-public-ss-ltnp-relay.txt'), 16855, [7000])).toEqual([6000])
    expect(ownedListenerPorts(sockets('lab-public-ss-ltnp-relay.txt'), 1, [7000])).toEqual([])
  })

  it('tracks a listener across samples: last queue, most queued, full', () => {
    const quiet = sockets('host-ss-ltnp.txt').filter((s) => s.local.port === 45933) // backlog 8, empty
    const flooded = sockets('lab-backlog8-ss-ltnp.txt') // port 7200, 9 of 8
    const targets = [{ port: 7200, role: 'port' as const, backlogAsked: null }]
    const relabel = quiet.map((s) => ({ ...s, local: { ...s.local, host: '*', family: null, port: 7200 } }))
    const [l] = listenersOf([relabel, flooded, relabel], targets, { ports: [], backlog: null }, 4096)
    expect(l).toEqual({ port: 7200, local: '*:7200', role: 'port', pid: 15994, backlogAsked: null, somaxconn: 4096, effective: 8, queued: 0, maxQueued: 9, full: true })
  })

  it('labels the relay\'s listeners with the backlog Node asks for', () => {
    const ls = listenersOf([sockets('lab-public-ss-ltnp-relay.txt')], [{ port: 7000, role: 'control', backlogAsked: 511 }], { ports: [6000], backlog: 511 }, 4096)
    expect(ls.map((l) => [l.port, l.role, l.backlogAsked, l.effective])).toEqual([[6000, 'proxy', 511, 511], [7000, 'control', 511, 511]])
    const capped = listenersOf([sockets('lab-somaxconn128-ss-ltn.txt')], [{ port: 7400, role: 'control', backlogAsked: 511 }], { ports: [], backlog: null }, 128)
    expect(capped[0]).toMatchObject({ effective: 128, backlogAsked: 511, somaxconn: 128 })
  })

  it('counts states per port and reads the namespace totals', () => {
    const s = statesOf(sockets('host-ss-tan.txt'), [39739], parseSockstat(fixture('host-sockstat.txt')))
    expect(s.counts).toEqual({ 'CLOSE-WAIT': 1, ESTAB: 8, 'FIN-WAIT-2': 1, LISTEN: 1 })
    expect(s.byPort).toEqual([{ port: 39739, counts: s.counts }])
    expect(s.namespace).toEqual({ inuse: 22, timeWait: 2588, orphans: 0 })
    // Dual-stack sockets are IPv6 sockets: sockstat6's TCP6 in use counts them.
    expect(statesOf([], [], parseSockstat(fixture('host-sockstat.txt')), parseSockstat('TCP6: inuse 5\n')).namespace.inuse).toBe(27)
    expect(statesOf([], [], null).namespace).toEqual({ inuse: null, timeWait: null, orphans: null })
  })

  it('reports counter growth between the first and last sample', () => {
    const before = parseNetstat(fixture('lab-backlog8-netstat-before.txt')).sections.TcpExt ?? null
    const after = parseNetstat(fixture('lab-backlog8-netstat-after.txt')).sections.TcpExt ?? null
    const o = overflowOf(before, after, 1500)
    expect(o.counters.ListenOverflows).toBe(42)
    expect(o.growth).toMatchObject({ ListenOverflows: 42, ListenDrops: 42 })
    expect(o.growthOverMs).toBe(1500)
    expect(overflowOf(after, after, 0).growth).toBeNull()
    expect(overflowOf(null, null, 0).counters.ListenOverflows).toBeNull()
  })

  it('puts the keepalive of each kind of socket next to the heartbeat', () => {
    const target: DiagTarget = {
      role: 'relay', config: null, listen: [], control: null, ownedListenerBacklog: null, ports: [],
      heartbeat: { intervalS: null, timeoutS: 90 },
      sockets: [{ kind: 'control', keepAliveMs: 30_000 }, { kind: 'visitor', keepAliveMs: null }],
    }
    const k = keepaliveOf(target, HOST_SYSCTLS, [])
    expect(k.sockets.map((s) => [s.kind, s.enabled, s.idleS])).toEqual([['control', true, 30], ['visitor', false, null]])
    expect(k.retransmitGiveUpS).toBe(924.6)
    expect(k.deadPeer).toEqual({ idleS: 40, idleBy: 'TCP keepalive', busyS: 90, busyBy: 'heartbeat timeout' })
  })
})
