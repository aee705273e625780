// The client's answer to GET /api/status: follows the client's events (logins, proxy results,
// disconnects, failed attempts) to know each proxy's state and the errors so far, and reads the
// session and forwarders for RTT, streams, flows and bytes when asked. Create it before run().
import { kernelFacts, processFacts, probeRtt, roundMs, STATUS_SCHEMA, type ProxyState, type ProxyStatus, type SessionStatus, type StatusReport } from '../shared/admin/index.js'
import type { ErrorCode, TunnelError } from '../shared/errors.js'
import { formatHostPort } from '../shared/net/index.js'
import type { Client } from './client.js'
import type { ClientProxyPhase, ProxyEntry } from './proxy/index.js'

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

  constructor (client: Client) {
    this.#client = client
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
          remote: formatHostPort(this.#client.relayPeer ?? config.serverAddr, config.serverPort),
          since: new Date(this.#since).toISOString(),
          rttMs: roundMs(rtt),
          streams: live.streamCount,
          proxies: entries.filter((e) => e.phase === 'running').length,
          bytesIn: live.bytesIn,
          bytesOut: live.bytesOut,
          reconnects: this.#client.reconnects,
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
    }
  }

  #proxyStatus (e: ProxyEntry): ProxyStatus {
    const { serverAddr } = this.#client.config
    const p = e.config
    const publicAddr = e.remotePort === null ? null : e.domains.length > 0 ? e.domains.map((d) => formatHostPort(d, e.remotePort ?? 0)).join(' ') : formatHostPort(serverAddr, e.remotePort)
    const common = {
      name: e.wireName,
      type: p.type,
      state: stateOf(e),
      phase: e.phase,
      publicAddr,
      local: formatHostPort(p.localIP, p.localPort),
      clientId: null,
      error: e.problem,
      ...(e.health === undefined ? {} : { health: e.health.state }),
      ...(p.loadBalancer === undefined ? {} : { group: { name: p.loadBalancer.group } }),
    }
    if (e.local.kind === 'tcp') {
      const t = e.local.forwarder.traffic()
      return { ...common, streams: { active: t.active, total: t.total }, flows: null, bytesIn: t.bytesIn, bytesOut: t.bytesOut, refused: 0, dropped: t.dialFailures, udpDrops: null }
    }
    const c = e.local.forwarder.counters
    return { ...common, streams: null, flows: { active: c.activeFlows, total: c.flowsOpened }, bytesIn: c.bytesIn, bytesOut: c.bytesOut, refused: 0, dropped: 0, udpDrops: { ...c.drops } }
  }
}
