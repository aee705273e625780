// The client's answer to GET /api/status: follows the client's events (logins, proxy results,
// disconnects, failed attempts) to know each proxy's state and the errors so far, and reads the
// session and forwarders for RTT, streams, flows and bytes when asked. Create it before run().
import { kernelFacts, processFacts } from '../shared/admin/process-facts.js'
import { probeRtt, roundMs } from '../shared/admin/rtt.js'
import { STATUS_SCHEMA, type ProxyState, type ProxyStatus, type SessionStatus, type StatusReport } from '../shared/admin/status.js'
import type { ErrorCode, TunnelError } from '../shared/errors.js'
import { formatHostPort } from '../shared/net/address.js'
import type { Client, ForwarderEntry } from './client.js'

interface ProxyTrack {
  state: ProxyState
  remotePort: number | null
  error: { code: string, message: string } | null
}

export class ClientStatus {
  readonly #client: Client
  readonly #startedAt = Date.now()
  readonly #proxies = new Map<string, ProxyTrack>()
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
      for (const t of this.#proxies.values()) { t.state = 'pending'; t.error = null }
    })
    client.on('proxy', (r) => {
      this.#proxies.set(r.name, r.ok
        ? { state: 'registered', remotePort: r.remotePort ?? null, error: null }
        : { state: 'refused', remotePort: null, error: { code: r.code ?? 'TUN_PROXY_INVALID', message: r.message ?? '' } })
      if (!r.ok) this.#noteError(r.code ?? 'TUN_PROXY_INVALID', `proxy ${r.name}: ${r.message ?? 'refused'}`)
    })
    client.on('disconnect', (err) => {
      this.#sessionId = undefined
      for (const t of this.#proxies.values()) {
        t.state = 'offline'
        t.error = err === undefined ? null : { code: err.code, message: err.message }
      }
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
          proxies: [...this.#proxies.values()].filter((t) => t.state === 'registered').length,
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
      proxies: this.#client.forwarders().map((f) => this.#proxyStatus(f)),
      logins: this.#logins,
      reconnects: this.#client.reconnects,
      errors: Object.fromEntries([...this.#errors].sort(([a], [b]) => a.localeCompare(b))),
      lastError: this.#lastError,
      kernel,
    }
  }

  #proxyStatus (f: ForwarderEntry): ProxyStatus {
    const config = this.#client.config
    const track = this.#proxies.get(f.name) ?? { state: 'pending', remotePort: null, error: null }
    const proxy = f.forwarder.proxy
    const common = {
      name: f.name,
      state: track.state,
      publicAddr: track.remotePort === null ? null : formatHostPort(config.serverAddr, track.remotePort),
      local: formatHostPort(proxy.localIP, proxy.localPort),
      clientId: null,
      error: track.error,
    }
    if (f.type !== 'udp') {
      const t = f.forwarder.traffic()
      return { ...common, type: f.type, streams: { active: t.active, total: t.total }, flows: null, bytesIn: t.bytesIn, bytesOut: t.bytesOut, refused: 0, dropped: t.dialFailures, udpDrops: null }
    }
    const c = f.forwarder.counters
    return { ...common, type: 'udp', streams: null, flows: { active: c.activeFlows, total: c.flowsOpened }, bytesIn: c.bytesIn, bytesOut: c.bytesOut, refused: 0, dropped: 0, udpDrops: { ...c.drops } }
  }
}
