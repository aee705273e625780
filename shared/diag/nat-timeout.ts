// The result of `tunnel diag nat-timeout` (client/nat-probe.ts measures it): which idle times a
// TCP mapping survived, the bracket the NAT's idle timeout lies in, and the heartbeat advice.
import { createHash, randomBytes } from 'node:crypto'
import type { Finding } from './report.js'

export type ProbeOutcome = 'alive' | 'dead' | 'cancelled' | 'failed'

export interface ProbeResult {
  idleS: number
  outcome: ProbeOutcome
  /** Why (failed, dead by reset, cancelled); empty when the outcome says it all. */
  detail: string
}

export interface NatTimeoutReport {
  /** Longest idle time whose natProbe arrived (null: none did). */
  aliveUpToS: number | null
  /** Shortest idle time whose natProbe never arrived (null: every tried one arrived). */
  deadFromS: number | null
  /** Longest idle time tried. */
  maxS: number
  /** The client's transport.heartbeatInterval the advice is measured against (s; <= 0 = off). */
  heartbeatIntervalS: number
  probes: ProbeResult[]
  findings: Finding[]
}

/** Brackets the timeout from per-probe outcomes and adds the advice. */
export function natTimeoutReport (probes: readonly ProbeResult[], heartbeatIntervalS: number): NatTimeoutReport {
  const alive = probes.filter((p) => p.outcome === 'alive').map((p) => p.idleS)
  const dead = probes.filter((p) => p.outcome === 'dead').map((p) => p.idleS)
  const base = {
    aliveUpToS: alive.length === 0 ? null : Math.max(...alive),
    deadFromS: dead.length === 0 ? null : Math.min(...dead),
    maxS: Math.max(0, ...probes.map((p) => p.idleS)),
    heartbeatIntervalS,
    probes: [...probes].sort((a, b) => a.idleS - b.idleS),
  }
  return { ...base, findings: natTimeoutFindings(base) }
}

/**
 * A heartbeat must come well inside the timeout: one lost ping doubles the silence, so the
 * interval should be at most half of the longest idle time known to survive.
 */
export function recommendedHeartbeatS (aliveUpToS: number): number {
  return Math.max(1, Math.floor(aliveUpToS / 2))
}

function natTimeoutFindings (r: Omit<NatTimeoutReport, 'findings'>): Finding[] {
  const hb = r.heartbeatIntervalS
  const hbText = hb <= 0 ? 'heartbeats are off (transport.heartbeatInterval <= 0)' : `transport.heartbeatInterval is ${hb} s`
  if (r.aliveUpToS === null && r.deadFromS === null) {
    return [{ id: 'nat.unmeasured', severity: 'warn', what: 'no probe completed (every one failed to connect or log in)', advice: 'check that the relay is reachable with this frpc.yml (tunnel client -c ... logs in) and run again' }]
  }
  if (r.deadFromS === null) {
    const ok = hb > 0 && hb <= recommendedHeartbeatS(r.maxS)
    return [{
      id: 'nat.timeout-above-max',
      severity: ok ? 'info' : 'warn',
      what: `the path kept an idle TCP mapping for ${r.maxS} s, the longest idle time tried; ${hbText}`,
      advice: ok ? 'nothing to change: heartbeats come well inside the NAT timeout' : `set transport.heartbeatInterval to ${recommendedHeartbeatS(r.maxS)} s or less in frpc.yml, or try a longer --max`,
    }]
  }
  if (r.aliveUpToS === null) {
    return [{
      id: 'nat.timeout-below-min',
      severity: 'error',
      what: `no idle time survived, not even ${r.deadFromS} s: the relay's message after the silence never arrived`,
      advice: 'a NAT or firewall drops mappings almost at once (or blocks relay-to-client packets after silence); use transport.heartbeatInterval 1 and check the firewall between client and relay',
    }]
  }
  const rec = recommendedHeartbeatS(r.aliveUpToS)
  const bracket = `between ${r.aliveUpToS} s and ${r.deadFromS} s`
  if (hb > 0 && hb <= rec) {
    return [{ id: 'nat.timeout', severity: 'info', what: `the NAT forgets an idle TCP mapping after ${bracket}; ${hbText}`, advice: 'nothing to change: heartbeats keep the mapping alive' }]
  }
  return [{
    id: 'nat.heartbeat-too-long',
    severity: 'warn',
    what: `the NAT forgets an idle TCP mapping after ${bracket}, and ${hbText}: an idle tunnel loses its mapping, and visitors wait until the client notices`,
    advice: `set transport.heartbeatInterval to ${rec} s (at most half of the ${r.aliveUpToS} s known to survive) in frpc.yml`,
  }]
}

const OUTCOME_TEXT: Record<ProbeOutcome, string> = {
  alive: 'mapping alive',
  dead: 'mapping gone',
  cancelled: 'not needed',
  failed: 'probe failed',
}

/** The human form: one line per idle time, the bracket, and the findings. */
export function renderNatTimeout (r: NatTimeoutReport): string {
  const lines = ['NAT idle timeout (TCP, client -> relay)', '']
  for (const p of r.probes) {
    lines.push(`  idle ${String(p.idleS).padStart(4)} s  ${OUTCOME_TEXT[p.outcome]}${p.detail === '' ? '' : `  (${p.detail})`}`)
  }
  lines.push('')
  if (r.deadFromS !== null && r.aliveUpToS !== null) lines.push(`timeout: between ${r.aliveUpToS} s and ${r.deadFromS} s`)
  else if (r.deadFromS !== null) lines.push(`timeout: below ${r.deadFromS} s`)
  else if (r.aliveUpToS !== null) lines.push(`timeout: above ${r.aliveUpToS} s (the longest tried)`)
  for (const f of r.findings) lines.push(`${f.severity.toUpperCase().padEnd(5)} ${f.what}`, `      -> ${f.advice}`)
  return lines.join('\n') + '\n'
}

/**
 * The client id of one NAT probe connection of `clientID`: its own, so it takes nothing over.
 * `run` (8 hex digits, new for every run) keeps a run's ids apart from the last run's: a probe
 * whose mapping died lingers on the relay for a while, and the relay holds one probe per id.
 */
export function natProbeClientId (clientID: string, idleS: number, run: string): string {
  return `${natProbePrefix(clientID)}${run}-${idleS}`
}

/** A fresh run tag for natProbeClientId. */
export function natProbeRun (): string {
  return randomBytes(4).toString('hex')
}

/** Whether `id` is a NAT probe id of `clientID` (a relay's auth.clientKeys rule for clientID admits it). */
export function isNatProbeOf (id: string, clientID: string): boolean {
  return id.startsWith(natProbePrefix(clientID)) && /^[0-9a-f]{8}-\d+$/.test(id.slice(natProbePrefix(clientID).length))
}

function natProbePrefix (clientID: string): string {
  return `natprobe-${createHash('sha256').update(clientID).digest('hex').slice(0, 16)}-`
}
