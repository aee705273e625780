// The relay's answer to GET /api/status: its listener, every logged-in session (with a fresh
// RTT), every proxy of every session (through the proxy interface: its endpoint, phase and
// counters, whatever its type), and the refusals it counted.
import { kernelFacts, processFacts, probeRtt, roundMs, sessionPressure, STATUS_SCHEMA, securityName, type ProxyCounters, type ProxyStatus, type SessionStatus, type StatusReport } from '../shared/admin/index.js'
import { formatHostPort, normalizeAddress } from '../shared/net/index.js'
import type { ControlSession } from './control-session.js'
import type { RelayProxy } from './proxy/index.js'
import type { Relay } from './relay.js'

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
    sessions: sessions.map((c, i) => sessionStatus(c, rtts[i] ?? null, relay.config.transport.insecurePlaintext)),
    proxies: sessions.flatMap((c) => c.proxies().map((p) => proxyStatus(p, c.clientId, bindHost))),
    logins: relay.stats.logins,
    reconnects: relay.stats.replaced,
    errors: relay.stats.errorCounts(),
    lastError: relay.stats.lastError,
    kernel,
    limits: relayLimits(relay),
    visits: { accepted: relay.visits.accepted, refusals: nonZero(relay.visits.refusals) },
    ...(relay.fleet === undefined ? {} : { fleet: await fleetStatus(relay) }),
  }
}

/** The fleet as this relay's store sees it; a store that does not answer is an error line, not a failed status. */
async function fleetStatus (relay: Relay): Promise<NonNullable<StatusReport['fleet']>> {
  const store = relay.fleet
  if (store === undefined) throw new Error('not a fleet relay')
  let relays: NonNullable<StatusReport['fleet']>['relays'] = null
  let error: string | null = null
  try {
    relays = (await store.relays()).map((r) => ({ nodeName: r.nodeName, advertiseAddr: r.advertiseAddr, startedAt: new Date(r.startedAt).toISOString(), clients: r.clients }))
  } catch (err) {
    error = err instanceof Error ? err.message : String(err)
  }
  const links = relay.links
  return { nodeName: store.nodeName, relays, error, store: { ...store.stats }, ...(links === undefined ? {} : { links: { ...links.open, ...links.stats } }) }
}

function relayLimits (relay: Relay): NonNullable<StatusReport['limits']> {
  const b = relay.budgetStats
  return {
    fdLimit: b.fdLimit,
    reserve: b.reserve,
    maxConnections: b.maxConnections,
    visitors: b.visitors,
    otherSockets: b.otherSockets,
    shed: { ...b.shed },
    shedControl: b.shedControl,
    pendingHandshakes: b.pendingHandshakes,
  }
}

function nonZero (counts: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0))
}

/** Every proxy's byte counters, cheaply (no ping, no /proc): what the traffic history samples. */
export function relayProxyCounters (relay: Relay): ProxyCounters[] {
  return relay.sessions().flatMap((c) => c.proxies().map((p) => {
    const m = p.metrics()
    return { name: p.name, type: p.type, bytesIn: m.bytesIn, bytesOut: m.bytesOut }
  }))
}

function sessionStatus (c: ControlSession, rttMs: number | null, plaintext: boolean): SessionStatus {
  const login = c.login
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
    ...sessionPressure(c.session),
    ...(login === undefined ? {} : { version: login.version, hostname: login.hostname }),
    ...(c.carrier === undefined ? {} : { transport: c.carrier }),
    security: securityName(c.pinned, plaintext),
  }
}

/** A port proxy's public address is the bind address and its port; a vhost proxy's is each domain on the vhost port. */
function proxyStatus (p: RelayProxy, clientId: string, bindHost: string): ProxyStatus {
  const { remotePort, domains } = p.describe()
  const secret = p.type === 'stcp' || p.type === 'sudp'
  const publicAddr = secret ? null : domains === undefined ? formatHostPort(bindHost, remotePort) : domains.map((d) => formatHostPort(d, remotePort)).join(' ')
  const { visitRefusals, ...metrics } = p.metrics()
  return { name: p.name, type: p.type, state: 'listening', phase: p.status(), publicAddr, local: null, clientId, error: null, ...metrics, ...(visitRefusals === undefined ? {} : { visitRefusals: nonZero(visitRefusals) }), ...p.membership?.() }
}
