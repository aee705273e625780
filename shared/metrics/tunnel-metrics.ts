// The Prometheus metrics of a relay or a client, read from the same status report the admin API
// serves (one source of truth): each scrape takes a fresh report and every metric's collect()
// reads it. One Registry per process object, never prom-client's global one, so several relays
// in one test process do not clash. Labels stay bounded: proxy names, session client ids (live
// ones only), error codes from the catalogue and drop reasons; never visitor addresses.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import { PROXY_PHASES, type StatusReport, type VisitorStatus } from '../admin/index.js'
import { UDP_DROP_REASONS } from '../udp/index.js'

export interface TunnelMetricsOptions {
  /** Also export prom-client's process and Node.js metrics (fds, memory, event loop, GC). */
  processMetrics: boolean
  /**
   * false: leave out every series labelled by a proxy, client, visitor, group or fleet relay (an
   * admin API open without credentials: /metrics must not list tenants). Default true.
   */
  tenantLabels?: boolean
}

/** Labels that name a tenant's proxy, a client, a visitor, a group or a fleet relay. */
export const TENANT_LABELS: ReadonlySet<string> = new Set(['proxy', 'client', 'visitor', 'group', 'relay'])

type Labels = Record<string, string>
type Sample = [Labels, number]
type Read = (r: StatusReport) => Sample[]

export class TunnelMetrics {
  readonly registry = new Registry()
  #current: StatusReport | undefined
  #queue: Promise<unknown> = Promise.resolve()
  readonly #tenantLabels: boolean

  constructor (options: TunnelMetricsOptions) {
    this.#tenantLabels = options.tenantLabels ?? true
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry })
    this.#define()
  }

  get contentType (): string { return this.registry.contentType }

  /** The text exposition of `report` (scrapes are serialised: each sees its own report). */
  async render (report: () => Promise<StatusReport>): Promise<string> {
    const run = this.#queue.then(async () => {
      this.#current = await report()
      try {
        return await this.registry.metrics()
      } finally {
        this.#current = undefined
      }
    })
    this.#queue = run.catch(() => undefined)
    return await run
  }

  /** Whether a metric with these labels is exported (tenantLabels false leaves out the ones naming tenants). */
  #exported (labelNames: readonly string[]): boolean {
    return this.#tenantLabels || !labelNames.some((l) => TENANT_LABELS.has(l))
  }

  #counter (name: string, help: string, labelNames: readonly string[], read: Read): void {
    if (!this.#exported(labelNames)) return
    // collect() runs with `this` bound to the prom-client metric, so the report comes in here.
    const current = (): StatusReport | undefined => this.#current
    new Counter({
      name, help, labelNames, registers: [this.registry],
      collect () {
        this.reset()
        const r = current()
        if (r !== undefined) for (const [labels, v] of read(r)) this.inc(labels, v)
      },
    })
  }

  #gauge (name: string, help: string, labelNames: readonly string[], read: Read): void {
    if (!this.#exported(labelNames)) return
    // collect() runs with `this` bound to the prom-client metric, so the report comes in here.
    const current = (): StatusReport | undefined => this.#current
    new Gauge({
      name, help, labelNames, registers: [this.registry],
      collect () {
        this.reset()
        const r = current()
        if (r !== undefined) for (const [labels, v] of read(r)) this.set(labels, v)
      },
    })
  }

  #define (): void {
    const per = <T>(list: (r: StatusReport) => T[], each: (x: T) => Sample[]): Read => (r) => list(r).flatMap(each)
    const proxies = (r: StatusReport): StatusReport['proxies'] => r.proxies
    const sessions = (r: StatusReport): StatusReport['sessions'] => r.sessions

    this.#gauge('tunnel_sessions', 'Control sessions logged in now.', [], (r) => [[{}, r.sessions.length]])
    this.#counter('tunnel_logins_total', 'Logins (relay: accepted; client: made).', [], (r) => [[{}, r.logins]])
    this.#counter('tunnel_reconnects_total', 'Relay: sessions replaced by a newer one of the same client; client: reconnect attempts.', [], (r) => [[{}, r.reconnects]])
    this.#counter('tunnel_errors_total', 'Refusals and failures since start, by error code (docs/errors.md).', ['code'], (r) => Object.entries(r.errors).map(([code, n]) => [{ code }, n]))

    this.#gauge('tunnel_session_rtt_seconds', 'Control connection round trip (a mux ping), per logged-in client.', ['client'],
      per(sessions, (s) => (s.rttMs === null ? [] : [[{ client: s.clientId }, s.rttMs / 1000]])))
    this.#gauge('tunnel_session_streams', 'Streams open on the control connection.', ['client'], per(sessions, (s) => [[{ client: s.clientId }, s.streams]]))
    this.#counter('tunnel_session_bytes_total', 'Control connection bytes (records, framing included) per direction.', ['client', 'direction'],
      per(sessions, (s) => [[{ client: s.clientId, direction: 'in' }, s.bytesIn], [{ client: s.clientId, direction: 'out' }, s.bytesOut]]))
    this.#gauge('tunnel_session_buffered_bytes', 'Bytes the session\'s streams hold, read from their sources and not yet sent (relay: from visitors; capped by maxBufferedBytesPerClient).', ['client'],
      per(sessions, (s) => (s.bufferedBytes === undefined ? [] : [[{ client: s.clientId }, s.bufferedBytes]])))
    this.#counter('tunnel_session_buffer_pauses_total', 'Times a stream paused its source because the session held its buffer cap.', ['client'],
      per(sessions, (s) => (s.bufferPauses === undefined ? [] : [[{ client: s.clientId }, s.bufferPauses]])))
    this.#gauge('tunnel_session_peer_queued_bytes', 'Bytes queued toward the peer on the control connection (control and data frames).', ['client'],
      per(sessions, (s) => (s.peerQueuedBytes === undefined ? [] : [[{ client: s.clientId }, s.peerQueuedBytes]])))
    this.#counter('tunnel_session_read_pauses_total', 'Times reading from the peer paused because it did not take what was queued for it.', ['client'],
      per(sessions, (s) => (s.readPauses === undefined ? [] : [[{ client: s.clientId }, s.readPauses]])))
    this.#counter('tunnel_session_reconnects_total', 'Relay: earlier logins of this client id since the relay started; client: reconnects.', ['client'],
      per(sessions, (s) => [[{ client: s.clientId }, s.reconnects]]))

    this.#gauge('tunnel_proxy_up', '1 when the proxy is listening (relay) or registered (client), else 0.', ['proxy', 'type'],
      per(proxies, (p) => [[{ proxy: p.name, type: p.type }, p.state === 'listening' || p.state === 'registered' ? 1 : 0]]))
    this.#gauge('tunnel_proxy_phase', 'The proxy\'s lifecycle phase: 1 for the phase it is in, 0 for the others (docs/operations.md, "Proxy phases").', ['proxy', 'type', 'phase'],
      per(proxies, (p) => PROXY_PHASES.map((phase): Sample => [{ proxy: p.name, type: p.type, phase }, p.phase === phase ? 1 : 0])))
    this.#counter('tunnel_proxy_bytes_total', 'Payload bytes through the proxy; in = visitor to service, out = service to visitor.', ['proxy', 'type', 'direction'],
      per(proxies, (p) => [[{ proxy: p.name, type: p.type, direction: 'in' }, p.bytesIn], [{ proxy: p.name, type: p.type, direction: 'out' }, p.bytesOut]]))
    this.#counter('tunnel_proxy_streams_total', 'TCP visitors carried as streams.', ['proxy'], per(proxies, (p) => (p.streams === null ? [] : [[{ proxy: p.name }, p.streams.total]])))
    this.#gauge('tunnel_proxy_streams', 'TCP visitors open now.', ['proxy'], per(proxies, (p) => (p.streams === null ? [] : [[{ proxy: p.name }, p.streams.active]])))
    this.#counter('tunnel_proxy_flows_total', 'UDP flows (visitor address and port) opened.', ['proxy'], per(proxies, (p) => (p.flows === null ? [] : [[{ proxy: p.name }, p.flows.total]])))
    this.#gauge('tunnel_proxy_flows', 'UDP flows open now.', ['proxy'], per(proxies, (p) => (p.flows === null ? [] : [[{ proxy: p.name }, p.flows.active]])))
    this.#counter('tunnel_proxy_visitors_refused_total', 'Visitors (tcp) or datagrams (udp) refused by allowSources/denySources.', ['proxy', 'type'],
      per(proxies, (p) => [[{ proxy: p.name, type: p.type }, p.refused]]))
    this.#counter('tunnel_proxy_visitors_dropped_total', 'TCP visitors closed without being served (no stream could be opened, or the local service was unreachable).', ['proxy', 'type'],
      per(proxies, (p) => [[{ proxy: p.name, type: p.type }, p.dropped]]))
    this.#counter('tunnel_proxy_udp_drops_total', 'UDP datagrams dropped, by reason (README: UDP).', ['proxy', 'reason'],
      per(proxies, (p) => (p.udpDrops === null ? [] : UDP_DROP_REASONS.map((reason): Sample => [{ proxy: p.name, reason }, p.udpDrops?.[reason] ?? 0]))))
    this.#gauge('tunnel_proxy_healthy', 'Health-checked proxies: 1 while the check passes (the proxy takes visitors), else 0.', ['proxy', 'type'],
      per(proxies, (p) => (p.health === undefined ? [] : [[{ proxy: p.name, type: p.type }, p.health === 'healthy' ? 1 : 0]])))
    this.#gauge('tunnel_group_members', 'Relay: members of the proxy\'s load-balancing group now, and how many are healthy.', ['proxy', 'group', 'state'],
      per(proxies, (p) => (p.group?.members === undefined ? [] : [[{ proxy: p.name, group: p.group.name, state: 'all' }, p.group.members], [{ proxy: p.name, group: p.group.name, state: 'healthy' }, p.group.healthy ?? 0]])))
    this.#defineVisits()
    this.#defineFleet()
  }

  /** A fleet relay: its store traffic, and the fleet's relays and their attached clients (absent on a single relay). */
  #defineFleet (): void {
    const store = (r: StatusReport, key: keyof NonNullable<StatusReport['fleet']>['store']): Sample[] => (r.fleet === undefined ? [] : [[{}, r.fleet.store[key]]])
    this.#counter('tunnel_fleet_claims_total', 'Fleet relay: ownership claims made in the store (logins and proxies).', [], (r) => store(r, 'claims'))
    this.#counter('tunnel_fleet_claim_conflicts_total', 'Fleet relay: claims refused because another client key owns the key.', [], (r) => store(r, 'conflicts'))
    this.#counter('tunnel_fleet_store_unavailable_total', 'Fleet relay: store requests that failed or timed out (TUN_FLEET_UNAVAILABLE).', [], (r) => store(r, 'unavailable'))
    this.#counter('tunnel_fleet_ownership_lost_total', 'Fleet relay: keys another client took while their owner\'s lease had expired.', [], (r) => store(r, 'reclaimLost'))
    this.#counter('tunnel_fleet_route_watches_renewed_total', 'Fleet relay: route watches etcd cancelled (compaction while the relay was away from it) and made again.', [], (r) => store(r, 'watchesRenewed'))
    const links = (r: StatusReport): NonNullable<NonNullable<StatusReport['fleet']>['links']> | undefined => r.fleet?.links
    this.#counter('tunnel_fleet_forwarded_streams_total', 'Fleet relay: visitor streams forwarded over inter-relay links; out = sent to a peer relay, in = received from one.', ['direction'],
      (r) => { const l = links(r); return l === undefined ? [] : [[{ direction: 'out' }, l.forwardedOut], [{ direction: 'in' }, l.forwardedIn]] })
    this.#counter('tunnel_fleet_forward_failures_total', 'Fleet relay: forwards that could not reach a peer relay (the visitor got 502).', [], (r) => { const l = links(r); return l === undefined ? [] : [[{}, l.forwardFailed]] })
    this.#counter('tunnel_fleet_link_refusals_total', 'Fleet relay: inter-relay links refused because the dialling party is not a proven fleet member.', [], (r) => { const l = links(r); return l === undefined ? [] : [[{}, l.refused]] })
    this.#gauge('tunnel_fleet_links', 'Fleet relay: inter-relay links up now; out = dialled by this relay, in = dialled by a peer.', ['direction'],
      (r) => { const l = links(r); return l === undefined ? [] : [[{ direction: 'out' }, l.out], [{ direction: 'in' }, l.in]] })
    this.#gauge('tunnel_fleet_relay_clients', 'Fleet relay: client keys attached to each relay of the fleet, as the store lists them.', ['relay'],
      (r) => (r.fleet?.relays ?? []).map((x): Sample => [{ relay: x.nodeName }, x.clients]))
  }

  /** Secret proxies (stcp, sudp) and visitors: visits and refusals by reason (bounded label sets). */
  #defineVisits (): void {
    const visitors = (r: StatusReport): NonNullable<StatusReport['visitors']> => r.visitors ?? []
    const each = <T>(list: (r: StatusReport) => T[], f: (x: T) => Sample[]): Read => (r) => list(r).flatMap(f)
    const byReason = (labels: Labels, counts: Readonly<Record<string, number>> | undefined): Sample[] =>
      Object.entries(counts ?? {}).map(([reason, n]): Sample => [{ ...labels, reason }, n])
    this.#counter('tunnel_proxy_visit_refusals_total', 'stcp/sudp: visits refused, by reason (relay: unknown, proof, user, replay, rateLimited, ...; client: its own check).', ['proxy', 'reason'],
      each((r) => r.proxies, (p) => byReason({ proxy: p.name }, p.visitRefusals)))
    this.#counter('tunnel_visits_total', 'Relay: visits to secret proxies joined to their client.', [], (r) => (r.visits === undefined ? [] : [[{}, r.visits.accepted]]))
    this.#counter('tunnel_visit_refusals_total', 'Relay: visits refused, by reason (the visitor is told only "refused").', ['reason'], (r) => byReason({}, r.visits?.refusals))
    this.#gauge('tunnel_visitor_up', 'Client: 1 when the visitor is listening and its relay accepts visits, else 0.', ['visitor', 'type'],
      each(visitors, (v) => [[{ visitor: v.name, type: v.type }, v.phase === 'running' ? 1 : 0]]))
    this.#counter('tunnel_visitor_visits_total', 'Client: visits a visitor opened (stcp: local connections; sudp: flows).', ['visitor'],
      each(visitors, (v) => [[{ visitor: v.name }, (v.streams ?? v.flows)?.total ?? 0]]))
    this.#gauge('tunnel_visitor_visits', 'Client: visits open now.', ['visitor'], each(visitors, (v) => [[{ visitor: v.name }, (v.streams ?? v.flows)?.active ?? 0]]))
    this.#counter('tunnel_visitor_bytes_total', 'Client: payload bytes through a visitor; in = local application to service.', ['visitor', 'direction'],
      each(visitors, (v) => [[{ visitor: v.name, direction: 'in' }, v.bytesIn], [{ visitor: v.name, direction: 'out' }, v.bytesOut]]))
    this.#counter('tunnel_visitor_refusals_total', 'Client: visits that failed, by reason (refused, rateLimited, limit, serviceDown, offline, reset).', ['visitor', 'reason'],
      each(visitors, (v) => byReason({ visitor: v.name }, v.refusals)))
    // xtcp: the path in use and the punching record.
    const p2p = (r: StatusReport): Array<{ name: string, p2p: NonNullable<VisitorStatus['p2p']> }> => visitors(r).flatMap((v) => (v.p2p === undefined ? [] : [{ name: v.name, p2p: v.p2p }]))
    this.#gauge('tunnel_visitor_p2p_path', 'Client, xtcp: 1 for the path its connections take now (p2p, relay, connecting, none).', ['visitor', 'path'],
      each(p2p, (v) => (['p2p', 'relay', 'connecting', 'none'] as const).map((path): Sample => [{ visitor: v.name, path }, v.p2p.path === path ? 1 : 0])))
    this.#counter('tunnel_visitor_punch_attempts_total', 'Client, xtcp: punch attempts.', ['visitor'], each(p2p, (v) => [[{ visitor: v.name }, v.p2p.attempts]]))
    this.#counter('tunnel_visitor_punch_successes_total', 'Client, xtcp: punch attempts that made a direct path.', ['visitor'], each(p2p, (v) => [[{ visitor: v.name }, v.p2p.successes]]))
    this.#counter('tunnel_visitor_punch_failures_total', 'Client, xtcp: failed attempts and dead paths, by reason (introTimeout, refused, badIntro, punchTimeout, closed, offline).', ['visitor', 'reason'],
      each(p2p, (v) => byReason({ visitor: v.name }, v.p2p.failures)))
    this.#gauge('tunnel_visitor_punch_connect_seconds', 'Client, xtcp: time the last successful punch took, from the introduction to the path being up.', ['visitor'],
      each(p2p, (v) => (v.p2p.lastConnectMs === null ? [] : [[{ visitor: v.name }, v.p2p.lastConnectMs / 1000]])))
    this.#counter('tunnel_visitor_punch_refusals_total', 'Client, xtcp: punch packets refused while punching, by reason (forged: does not verify under the secret; replayed: seen before).', ['visitor', 'reason'],
      each(p2p, (v) => byReason({ visitor: v.name }, v.p2p.punchRefusals)))
    this.#counter('tunnel_proxy_punch_refusals_total', 'Client, xtcp proxy: punch packets refused while punching toward visitors, by reason (forged, replayed).', ['proxy', 'reason'],
      each((r) => r.proxies, (p) => byReason({ proxy: p.name }, p.p2p?.punchRefusals)))
    this.#gauge('tunnel_proxy_p2p_paths', 'Client, xtcp proxy: direct paths to visitors open now.', ['proxy'],
      each((r) => r.proxies, (p) => (p.p2p === undefined ? [] : [[{ proxy: p.name }, p.p2p.paths.active]])))
    this.#counter('tunnel_visitor_p2p_connections_total', 'Client, xtcp: local connections by the path they took (direct, fallback, refused).', ['visitor', 'path'],
      each(p2p, (v) => Object.entries(v.p2p.connections).map(([path, n]): Sample => [{ visitor: v.name, path }, n])))
  }
}
