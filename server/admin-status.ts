// The relay's answer to GET /api/status: its listener, every logged-in session (with a fresh
// RTT), every public listener with its traffic and refusals, and the refusals it counted.
import { kernelFacts, processFacts } from '../shared/admin/process-facts.js'
import { probeRtt, roundMs } from '../shared/admin/rtt.js'
import { STATUS_SCHEMA, type ProxyStatus, type SessionStatus, type StatusReport } from '../shared/admin/status.js'
import { formatHostPort, normalizeAddress } from '../shared/net/address.js'
import type { ControlSession } from './control-session.js'
import type { Relay } from './relay.js'
import type { TcpProxy } from './tcp-proxy.js'
import type { VhostProxy } from './vhost/vhosts.js'
import type { UdpProxy } from './udp-proxy.js'

export async function relayStatus (relay: Relay): Promise<StatusReport> {
  const sessions = relay.sessions()
  const [proc, kernel, rtts] = await Promise.all([
    processFacts(relay.startedAt),
    kernelFacts(),
    Promise.all(sessions.map(async (c) => await probeRtt(c.session))),
  ])
  const bindHost = normalizeAddress(relay.config.proxyBindAddr)
  const address = relay.address
  return {
    schema: STATUS_SCHEMA,
    role: 'relay',
    generatedAt: new Date().toISOString(),
    process: proc,
    controlAddr: address === undefined ? null : formatHostPort(normalizeAddress(address.address), address.port),
    sessions: sessions.map((c, i) => sessionStatus(c, rtts[i] ?? null)),
    proxies: sessions.flatMap((c) => [...c.proxies().map((p) => proxyStatus(p, c.clientId, bindHost)), ...c.vhostProxies().map((p) => vhostStatus(p, c.clientId))]),
    logins: relay.stats.logins,
    reconnects: relay.stats.replaced,
    errors: relay.stats.errorCounts(),
    lastError: relay.stats.lastError,
    kernel,
  }
}

function sessionStatus (c: ControlSession, rttMs: number | null): SessionStatus {
  return {
    id: c.sessionId,
    clientId: c.clientId,
    user: c.login?.user ?? '',
    remote: c.remote,
    since: new Date(c.loggedInAt).toISOString(),
    rttMs: roundMs(rttMs),
    streams: c.session.streamCount,
    proxies: c.proxyCount,
    bytesIn: c.session.bytesIn,
    bytesOut: c.session.bytesOut,
    reconnects: Math.max(0, c.logins - 1),
  }
}

function proxyStatus (p: TcpProxy | UdpProxy, clientId: string, bindHost: string): ProxyStatus {
  const common = { name: p.name, state: 'listening' as const, publicAddr: formatHostPort(bindHost, p.port), local: null, clientId, error: null }
  if (p.type === 'tcp') {
    const t = p.traffic()
    return { ...common, type: 'tcp', streams: { active: t.activeStreams, total: t.streamsTotal }, flows: null, bytesIn: t.bytesIn, bytesOut: t.bytesOut, refused: t.refused, dropped: t.dropped, udpDrops: null }
  }
  const c = p.counters
  return { ...common, type: 'udp', streams: null, flows: { active: p.activeFlows, total: c.flowsOpened }, bytesIn: c.bytesIn, bytesOut: c.bytesOut, refused: p.refused, dropped: 0, udpDrops: { ...c.drops } }
}

/** An http/https proxy: its public address is each domain on the vhost port. */
function vhostStatus (p: VhostProxy, clientId: string): ProxyStatus {
  const t = p.traffic()
  return {
    name: p.name,
    type: p.type,
    state: 'listening',
    publicAddr: p.domains.map((d) => formatHostPort(d, p.port)).join(' '),
    local: null,
    clientId,
    error: null,
    streams: { active: t.active, total: t.total },
    flows: null,
    bytesIn: t.bytesIn,
    bytesOut: t.bytesOut,
    refused: t.refused,
    dropped: 0,
    udpDrops: null,
  }
}
