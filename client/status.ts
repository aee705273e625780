// The client's answer to GET /api/status: follows the client's events (logins, proxy results,
// disconnects, failed attempts) to know each proxy's state and the errors so far, and reads the
// session and forwarders for RTT, streams, flows and bytes when asked. Create it before run().
import { hostname } from 'node:os'
import { kernelFacts, processFacts, probeRtt, roundMs, sessionPressure, STATUS_SCHEMA, securityName, type ProxyCounters, type ProxyState, type ProxyStatus, type SessionStatus, type StatusReport, type VisitorStatus } from '../shared/admin/index.js'
import type { ErrorCode, TunnelError } from '../shared/errors.js'
import { formatHostPort } from '../shared/net/index.js'
import { CONTROL_PROTOCOL_VERSION } from '../shared/wire/index.js'
import type { Client } from './client.js'
import type { ClientProxyPhase, ProxyEntry } from './proxy/index.js'
import type { VisitorEntry } from './visitors/index.js'
import type { ResponderStats } from './p2p/index.js'
import type { PluginConfig } from '../shared/config/index.js'

/** What a plugin proxy serves, for the `local` column: its socket, folder or upstream; null for the proxies. */
function pluginLocal (plugin: PluginConfig): string | null {
  switch (plugin.type) {
    case 'unix_domain_socket': return `unix:${plugin.unixPath}`
    case 'static_file': return plugin.localPath
    case 'http_proxy':
    case 'socks5':
      return null
    default: return formatHostPort(plugin.localAddr.host, plugin.localAddr.port)
  }
}

/** One control connection of a fleet client, for status. */
function fleetConnection (c: Client, index: number): NonNullable<StatusReport['fleetConnections']>[number] {
  const s = c.session
  const attached = c.attached && s !== undefined
  return {
    connection: index + 1,
    relay: c.relay,
    state: attached ? 'attached' : 'connecting',
    streams: attached ? s.streamCount : 0,
    bytesIn: s?.bytesIn ?? 0,
    bytesOut: s?.bytesOut ?? 0,
    reconnects: c.reconnects,
  }
}

/** The coarser state of schema 1, from the phase. */
function stateOf (e: ProxyEntry): ProxyState {
  const phases: Record<ClientProxyPhase, ProxyState> = {
    running: 'registered',
    refused: 'refused',
    pending: e.problem === null ? 'pending' : 'offline',
    registering: 'pending',
    retrying: 'pending',
    closed: 'offline',
  }
  return phases[e.phase]
}

export class ClientStatus {
  readonly #client: Client
  readonly #startedAt = Date.now()
  readonly #errors = new Map<ErrorCode, number>()
  #lastError: StatusReport['lastError'] = null
  #logins = 0
  #sessionId: string | undefined
  #since = 0

  /** A fleet client's connections (the first is `client`); undefined without a fleet block. */
  readonly #connections: (() => readonly Client[]) | undefined

  constructor (client: Client, connections?: () => readonly Client[]) {
    this.#client = client
    this.#connections = connections
    client.on('login', (sessionId) => {
      this.#logins++
      this.#sessionId = sessionId
      this.#since = Date.now()
    })
    client.on('proxy', (r) => {
      if (!r.ok) this.#noteError(r.code ?? 'TUN_PROXY_INVALID', `proxy ${r.name}: ${r.message ?? 'refused'}`)
    })
    client.on('disconnect', (err) => {
      this.#sessionId = undefined
      if (err !== undefined) this.#noteError(err.code, err.message)
    })
    client.on('attemptFailed', (err: TunnelError) => { this.#noteError(err.code, err.message) })
  }

  #noteError (code: ErrorCode, message: string): void {
    this.#errors.set(code, (this.#errors.get(code) ?? 0) + 1)
    this.#lastError = { code, message, at: new Date().toISOString() }
  }

  async report (): Promise<StatusReport> {
    const config = this.#client.config
    const session = this.#client.session
    const live = session !== undefined && !session.closed && this.#sessionId !== undefined ? session : undefined
    const [proc, kernel, rtt] = await Promise.all([
      processFacts(this.#startedAt),
      kernelFacts(),
      live === undefined ? Promise.resolve(null) : probeRtt(live),
    ])
    const entries = this.#client.proxyEntries()
    const sessions: SessionStatus[] = live === undefined
      ? []
      : [{
          id: this.#sessionId ?? '',
          clientId: config.clientID,
          user: config.user,
          // Through a proxy the TCP peer is the proxy: name the relay, and the proxy in `via`.
          remote: formatHostPort(this.#client.carrier?.via === undefined ? this.#client.relayPeer ?? config.serverAddr : config.serverAddr, config.serverPort),
          since: new Date(this.#since).toISOString(),
          rttMs: roundMs(rtt),
          streams: live.streamCount,
          proxies: entries.filter((e) => e.phase === 'running').length,
          bytesIn: live.bytesIn,
          bytesOut: live.bytesOut,
          reconnects: this.#client.reconnects,
          ...sessionPressure(live),
          version: CONTROL_PROTOCOL_VERSION,
          hostname: hostname(),
          security: securityName(config.auth.serverKey !== null, config.transport.insecurePlaintext),
          ...(this.#client.carrier === undefined ? {} : { transport: this.#client.carrier.transport }),
          ...(this.#client.carrier?.via === undefined ? {} : { via: this.#client.carrier.via }),
        }]
    return {
      schema: STATUS_SCHEMA,
      role: 'client',
      generatedAt: new Date().toISOString(),
      process: proc,
      controlAddr: formatHostPort(config.serverAddr, config.serverPort),
      sessions,
      proxies: entries.map((e) => this.#proxyStatus(e)),
      logins: this.#logins,
      reconnects: this.#client.reconnects,
      errors: Object.fromEntries([...this.#errors].sort(([a], [b]) => a.localeCompare(b))),
      lastError: this.#lastError,
      kernel,
      visitors: this.#client.visitorEntries().map(visitorStatus),
      ...(this.#connections === undefined ? {} : { fleetConnections: this.#connections().map(fleetConnection) }),
    }
  }

  /** Every proxy's byte counters, cheaply (no ping, no /proc): what the traffic history samples. */
  proxyCounters (): ProxyCounters[] {
    return this.#client.proxyEntries().map((e) => {
      const { bytesIn, bytesOut } = this.#proxyStatus(e)
      return { name: e.wireName, type: e.config.type, bytesIn, bytesOut }
    })
  }

  #proxyStatus (e: ProxyEntry): ProxyStatus {
    const { serverAddr } = this.#client.config
    const p = e.config
    const secret = p.type === 'stcp' || p.type === 'sudp' || p.type === 'xtcp'
    const publicAddr = e.remotePort === null || secret ? null : e.domains.length > 0 ? e.domains.map((d) => formatHostPort(d, e.remotePort ?? 0)).join(' ') : formatHostPort(serverAddr, e.remotePort)
    const plugin = p.type === 'udp' || p.type === 'sudp' ? undefined : p.plugin
    const common = {
      name: e.wireName,
      type: p.type,
      state: stateOf(e),
      phase: e.phase,
      publicAddr,
      local: plugin !== undefined ? pluginLocal(plugin) : formatHostPort(p.localIP, p.localPort),
      ...(plugin !== undefined ? { plugin: plugin.type } : {}),
      clientId: null,
      error: e.problem,
      ...(e.health === undefined ? {} : { health: e.health.state }),
      ...(p.loadBalancer === undefined ? {} : { group: { name: p.loadBalancer.group } }),
      ...(e.gate === undefined ? {} : { visitRefusals: nonZero(e.gate.refusals) }),
      ...(e.p2p === undefined ? {} : { p2p: p2pProxyStatus(e.p2p.stats()) }),
    }
    if (e.local.kind === 'tcp') {
      const t = e.local.forwarder.traffic()
      return { ...common, streams: { active: t.active, total: t.total }, flows: null, bytesIn: t.bytesIn, bytesOut: t.bytesOut, refused: t.refused ?? 0, dropped: t.dialFailures, udpDrops: null }
    }
    const c = e.local.forwarder.counters
    return { ...common, streams: null, flows: { active: c.activeFlows, total: c.flowsOpened }, bytesIn: c.bytesIn, bytesOut: c.bytesOut, refused: 0, dropped: 0, udpDrops: { ...c.drops } }
  }
}

function visitorStatus (e: VisitorEntry): VisitorStatus {
  const v = e.visitor
  const t = v.stats()
  return {
    name: e.config.name,
    type: e.config.type,
    target: v.target,
    phase: e.phase,
    local: v.local,
    streams: t.streams,
    flows: t.flows,
    bytesIn: t.bytesIn,
    bytesOut: t.bytesOut,
    refusals: nonZero(t.refusals),
    udpDrops: t.udpDrops,
    error: e.problem,
    ...(t.p2p === undefined ? {} : { p2p: t.p2p }),
  }
}

function p2pProxyStatus (s: ResponderStats): NonNullable<ProxyStatus['p2p']> {
  return { paths: { active: s.active, total: s.total }, failures: nonZero(s.failures), punchRefusals: nonZero(s.punchRefusals), nat: s.nat, peerNat: s.peerNat }
}

function nonZero (counts: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0))
}
