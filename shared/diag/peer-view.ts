// The relay's side of a client's control connection, as the relay sends it over that connection
// when the client asks (diagRequest → diagResult): the kernel's view from the other end (MSS,
// path MTU, RTT, retransmits, cwnd) and the findings about it. The client shows it beside its own.
// What arrives is checked field by field and bounded: a peer is authenticated, not trusted.
import type { ControlConnection, Finding, PeerView, Severity, Unavailable } from './report.js'

export type { PeerView }

const MAX_ITEMS = 8
const MAX_TEXT = 600

const text = (v: unknown, max = MAX_TEXT): string | null => (typeof v === 'string' ? v.slice(0, max) : null)
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)
const obj = (v: unknown): Record<string, unknown> | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : null)
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v.slice(0, MAX_ITEMS) : [])

const NUMERIC_FIELDS = ['pid', 'mss', 'advmss', 'pmtu', 'rcvmss', 'sendPathMtu', 'peerPathMtu', 'pathMtu', 'rttMs', 'rttVarMs', 'minRttMs', 'cwnd',
  'retransCurrent', 'retransTotal', 'bytesRetrans', 'bytesSent', 'bytesReceived', 'segsOut', 'sendBps', 'deliveryBps'] as const

function controlOf (v: unknown): ControlConnection | null {
  const o = obj(v)
  if (o === null) return null
  const local = text(o.local, 80)
  const peer = text(o.peer, 80)
  if (local === null || peer === null) return null
  const numbers = Object.fromEntries(NUMERIC_FIELDS.map((k) => [k, num(o[k])])) as Record<typeof NUMERIC_FIELDS[number], number | null>
  const udp = obj(o.maxUdpPayload)
  const ka = obj(o.keepaliveTimer)
  return {
    local,
    peer,
    family: o.family === 'ipv6' ? 'ipv6' : 'ipv4',
    ...numbers,
    maxUdpPayload: udp === null || num(udp.ipv4) === null || num(udp.ipv6) === null ? null : { ipv4: num(udp.ipv4) as number, ipv6: num(udp.ipv6) as number },
    keepaliveTimer: ka === null || num(ka.remainingMs) === null || num(ka.probesSent) === null ? null : { remainingMs: num(ka.remainingMs) as number, probesSent: num(ka.probesSent) as number },
  }
}

const SEVERITIES: readonly Severity[] = ['info', 'warn', 'error']

function findingOf (v: unknown): Finding | null {
  const o = obj(v)
  const id = text(o?.id, 80)
  const what = text(o?.what)
  const advice = text(o?.advice)
  const severity = SEVERITIES.find((s) => s === o?.severity)
  return id === null || what === null || advice === null || severity === undefined ? null : { id, severity, what, advice }
}

function unavailableOf (v: unknown): Unavailable | null {
  const o = obj(v)
  const fact = text(o?.fact, 80)
  const reason = text(o?.reason)
  const code = o?.code === 'TUN_DIAG_PARSE' ? 'TUN_DIAG_PARSE' : 'TUN_DIAG_SOURCE'
  return fact === null || reason === null ? null : { fact, code, reason }
}

/** The relay's view from untrusted JSON; fields of the wrong type become null or are dropped. */
export function parsePeerView (v: unknown): PeerView {
  const o = obj(v) ?? {}
  const keep = <T>(items: Array<T | null>): T[] => items.filter((x): x is T => x !== null)
  return {
    control: keep(list(o.control).map(controlOf)),
    findings: keep(list(o.findings).map(findingOf)),
    unavailable: keep(list(o.unavailable).map(unavailableOf)),
  }
}
