// `tunnel bench --admin URL`: what the relay (or client) saw during the run, read from its admin
// API: status before the load, every second during it (the control connection's RTT under
// load), and after. The report's `relay` section is the difference: streams or flows, bytes,
// refused and dropped visitors, UDP drops, accept-queue overflows, new errors, RTT. Every poll
// is bounded (one at a time, one per interval, stopped with the run).
import { fetchStatus, type ProxyStatus, type StatusReport, type AdminTarget } from '../shared/admin/index.js'
import { UDP_DROP_REASONS, type UdpDropReason } from '../shared/udp/index.js'
import type { BenchPlan } from './plan.js'
import type { RelaySection } from './report-schema.js'

export const RELAY_POLL_MS = 1_000
/** Points kept for the HTML report (one per poll; a run lasts at most MAX_DURATION_S). */
export const MAX_RELAY_POINTS = 4_000

/** What the relay showed at one poll, for the HTML report's chart. */
export interface RelayPoint {
  /** ms since the epoch. */
  at: number
  rttMs: number | null
  /** Totals of the proxies under load (all proxies when none matched), since they started. */
  bytesIn: number
  bytesOut: number
  streams: number
  flows: number
}

/** Proxies whose public port is the one under load (and of its kind). */
export function proxiesUnderLoad (report: StatusReport, plan: Pick<BenchPlan, 'protocol' | 'target'>): ProxyStatus[] {
  const type = plan.protocol === 'udp' ? 'udp' : 'tcp'
  return report.proxies.filter((p) => p.type === type && p.publicAddr !== null && p.publicAddr.endsWith(`:${plan.target.port}`))
}

export class RelayWatch {
  readonly target: AdminTarget
  readonly before: StatusReport
  readonly #plan: BenchPlan
  readonly #rtts: number[] = []
  /** Every status read (before, during, after), for the HTML report. */
  readonly points: RelayPoint[] = []
  #timer: NodeJS.Timeout | undefined
  #polling: Promise<void> | undefined
  #stopped = false
  pollFailures = 0

  private constructor (target: AdminTarget, plan: BenchPlan, before: StatusReport) {
    this.target = target
    this.#plan = plan
    this.before = before
  }

  /** Reads the status once (throws TunnelError when the admin API cannot be used) and starts polling. */
  static async start (target: AdminTarget, plan: BenchPlan, intervalMs = RELAY_POLL_MS): Promise<RelayWatch> {
    const watch = new RelayWatch(target, plan, await fetchStatus(target))
    watch.#point(watch.before)
    watch.#schedule(intervalMs)
    return watch
  }

  #schedule (intervalMs: number): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      this.#polling = fetchStatus(this.target)
        .then((r) => { this.#noteRtt(r) })
        .catch(() => { this.pollFailures++ })
        .finally(() => { this.#polling = undefined; this.#schedule(intervalMs) })
    }, intervalMs)
  }

  #noteRtt (r: StatusReport): void {
    const rtt = controlRtt(r, this.#plan)
    if (rtt !== null) this.#rtts.push(rtt)
    this.#point(r, rtt)
  }

  #point (r: StatusReport, rtt = controlRtt(r, this.#plan)): void {
    if (this.points.length >= MAX_RELAY_POINTS) return
    const matched = proxiesUnderLoad(r, this.#plan)
    const t = totals(matched.length === 0 ? r.proxies : matched)
    this.points.push({ at: Date.now(), rttMs: rtt, bytesIn: t.bytesIn, bytesOut: t.bytesOut, streams: t.streams, flows: t.flows })
  }

  /** Stops polling, reads the status once more and returns the report section. */
  async finish (): Promise<RelaySection> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#polling
    let after: StatusReport | undefined
    let problem: string | undefined
    try {
      after = await fetchStatus(this.target)
      this.#noteRtt(after)
    } catch (err) {
      problem = `the status could not be read after the run: ${(err as Error).message}`
    }
    return relaySection(this.#plan, this.target.label, this.before, after, { rtts: this.#rtts, pollFailures: this.pollFailures, problem })
  }
}

/** The RTT of the session owning the proxy under load (else the slowest session), in ms. */
export function controlRtt (r: StatusReport, plan: Pick<BenchPlan, 'protocol' | 'target'>): number | null {
  const owners = new Set(proxiesUnderLoad(r, plan).map((p) => p.clientId))
  const sessions = r.role === 'relay' && owners.size > 0 && !owners.has(null) ? r.sessions.filter((s) => owners.has(s.clientId)) : r.sessions
  const rtts = sessions.map((s) => s.rttMs).filter((x): x is number => x !== null)
  return rtts.length === 0 ? null : Math.max(...rtts)
}

interface Totals {
  streams: number
  flows: number
  bytesIn: number
  bytesOut: number
  refused: number
  dropped: number
  udpDrops: Record<UdpDropReason, number>
}

function totals (proxies: readonly ProxyStatus[]): Totals {
  const t: Totals = { streams: 0, flows: 0, bytesIn: 0, bytesOut: 0, refused: 0, dropped: 0, udpDrops: Object.fromEntries(UDP_DROP_REASONS.map((r) => [r, 0])) as Record<UdpDropReason, number> }
  for (const p of proxies) {
    t.streams += p.streams?.total ?? 0
    t.flows += p.flows?.total ?? 0
    t.bytesIn += p.bytesIn
    t.bytesOut += p.bytesOut
    t.refused += p.refused
    t.dropped += p.dropped
    for (const r of UDP_DROP_REASONS) t.udpDrops[r] += p.udpDrops?.[r] ?? 0
  }
  return t
}

const delta = (after: number, before: number): number => Math.max(0, after - before)
const maybeDelta = (after: number | null, before: number | null): number | null => (after === null || before === null ? null : delta(after, before))

export interface WatchExtras {
  rtts: readonly number[]
  pollFailures: number
  problem: string | undefined
}

export function relaySection (plan: BenchPlan, admin: string, before: StatusReport, after: StatusReport | undefined, extras: WatchExtras): RelaySection {
  const notes: string[] = []
  if (extras.problem !== undefined) notes.push(extras.problem)
  if (extras.pollFailures > 0) notes.push(`${extras.pollFailures} status poll(s) during the run failed`)
  const matchedBefore = proxiesUnderLoad(before, plan)
  const matchedAfter = after === undefined ? [] : proxiesUnderLoad(after, plan)
  const matched = matchedAfter.length > 0 ? matchedAfter : matchedBefore
  const names = [...new Set(matched.map((p) => p.name))]
  if (names.length === 0) notes.push(`no ${plan.protocol === 'udp' ? 'udp' : 'tcp'} proxy listens on port ${plan.target.port}: the figures are the totals of all proxies`)
  const pick = (r: StatusReport): ProxyStatus[] => (names.length === 0 ? r.proxies : r.proxies.filter((p) => names.includes(p.name)))
  const b = totals(pick(before))
  const a = after === undefined ? b : totals(pick(after))
  if (after !== undefined && (a.bytesIn < b.bytesIn || a.streams < b.streams || a.flows < b.flows)) {
    notes.push('a proxy was registered again during the run (the client reconnected?): its counters restarted, so the figures are low')
  }
  const udpDrops = Object.fromEntries(UDP_DROP_REASONS.map((r) => [r, delta(a.udpDrops[r], b.udpDrops[r])]).filter(([, n]) => (n as number) > 0)) as Partial<Record<UdpDropReason, number>>
  const errors: Record<string, number> = {}
  if (after !== undefined) {
    for (const [code, n] of Object.entries(after.errors)) {
      const d = delta(n, before.errors[code] ?? 0)
      if (d > 0) errors[code] = d
    }
  }
  const overflows = maybeDelta(after?.kernel.listenOverflows ?? null, before.kernel.listenOverflows)
  if (overflows !== null && overflows > 0) {
    notes.push(`accept queues overflowed ${overflows} time(s) in the relay's network namespace during the run (ListenOverflows): connections were dropped before the relay accepted them; raise net.core.somaxconn or accept faster`)
  }
  const drops = Object.values(udpDrops).reduce((s, n) => s + n, 0)
  if (drops > 0) notes.push(`the ${before.role} dropped ${drops} datagram(s) on purpose (${Object.entries(udpDrops).map(([r, n]) => `${r} ${n}`).join(', ')}): see the UDP section of the README`)
  const rttBefore = controlRtt(before, plan)
  const rttAfter = after === undefined ? null : controlRtt(after, plan)
  return {
    admin,
    role: before.role,
    proxies: names,
    sessions: (after ?? before).sessions.length,
    streams: delta(a.streams, b.streams),
    flows: delta(a.flows, b.flows),
    bytesIn: delta(a.bytesIn, b.bytesIn),
    bytesOut: delta(a.bytesOut, b.bytesOut),
    visitorsRefused: delta(a.refused, b.refused),
    visitorsDropped: delta(a.dropped, b.dropped),
    udpDrops,
    listenOverflows: overflows,
    listenDrops: maybeDelta(after?.kernel.listenDrops ?? null, before.kernel.listenDrops),
    errors,
    controlRttMs: {
      before: rttBefore,
      max: extras.rtts.length === 0 ? null : Math.max(...extras.rtts),
      after: rttAfter,
      samples: extras.rtts.length,
    },
    notes,
  }
}
