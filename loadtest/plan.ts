// The validated plan of one `tunnel bench` run: defaults applied, every bound checked against
// the hard caps in limits.ts. Pure: the CLI turns flags into a PlanInput, this module decides.
import { TunnelError } from '../shared/errors.js'
import { hostFromHeader } from '../shared/http/index.js'
import * as L from './limits.js'
import { formatTarget, parseTarget, type Target } from './target.js'

export const PROTOCOLS = ['tcp', 'udp', 'http'] as const
export type Protocol = typeof PROTOCOLS[number]
export const TCP_MODES = ['rr', 'connect', 'bulk'] as const
export type TcpMode = typeof TCP_MODES[number]
/** What the run does: tcp rr/connect/bulk, udp (datagrams to an echo), http (GET requests). */
export type Workload = TcpMode | 'udp' | 'http'
export type Direction = 'up' | 'down'

export interface Thresholds {
  /** Errors / operations, 0..1. */
  maxErrorRate: number | null
  maxP99Ms: number | null
}

export interface BenchPlan {
  protocol: Protocol
  workload: Workload
  /** Where to connect (the runner replaces a host name by its address before the load starts). */
  target: Target
  /** The target as the user named it: the HTTP Host header and the report. */
  targetName: string
  durationMs: number
  /** Operations at most: requests, connections or datagrams (bulk: streams). */
  maxOps: number
  /** Connections (or UDP flows) in use at once. */
  concurrency: number
  /** Operations per second (open loop, latency from the scheduled time); null = closed loop. */
  rate: number | null
  /** Request size (rr, connect, udp datagram). */
  size: number
  /** Reply size expected per request (rr, connect); 0 = do not wait for a reply (connect). */
  replySize: number
  timeoutMs: number
  streams: number
  direction: Direction
  bytesPerStream: number
  path: string
  /** http: the Host header (--host, e.g. a website behind a relay's vhostHTTPPort); default targetName. */
  hostHeader: string
  keepAlive: boolean
  thresholds: Thresholds
}

export interface PlanInput {
  protocol: string
  target: string | undefined
  mode?: string | undefined
  duration?: number | undefined
  requests?: number | undefined
  concurrency?: number | undefined
  rate?: number | undefined
  size?: number | undefined
  replySize?: number | undefined
  timeoutMs?: number | undefined
  streams?: number | undefined
  direction?: string | undefined
  bytes?: number | undefined
  path?: string | undefined
  host?: string | undefined
  keepAlive?: boolean | undefined
  maxErrorRate?: number | undefined
  maxP99Ms?: number | undefined
}

const usage = (message: string): TunnelError => new TunnelError('TUN_USAGE', message)

function bounded (name: string, value: number | undefined, fallback: number, min: number, max: number, integer = true): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw usage(`--${name} ${value}: expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`)
  }
  return value
}

function choose<T extends string> (name: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback
  if (!(allowed as readonly string[]).includes(value)) throw usage(`--${name} ${value}: expected one of ${allowed.join(', ')}`)
  return value as T
}

function workloadOf (protocol: Protocol, mode: string | undefined): Workload {
  if (protocol === 'tcp') return choose('mode', mode, TCP_MODES, 'rr')
  if (mode !== undefined && mode !== protocol) throw usage(`--mode ${mode}: ${protocol} has one mode; --mode is for tcp (${TCP_MODES.join(', ')})`)
  return protocol
}

function sizeFor (workload: Workload, size: number | undefined): number {
  if (workload === 'udp') return bounded('size', size, L.DEFAULT_UDP_SIZE_BYTES, L.UDP_HEADER_BYTES, L.MAX_UDP_SIZE_BYTES)
  const fallback = workload === 'connect' ? 1 : L.DEFAULT_TCP_SIZE_BYTES
  return bounded('size', size, fallback, workload === 'connect' ? 0 : 1, L.MAX_TCP_SIZE_BYTES)
}

export function planBench (input: PlanInput): BenchPlan {
  const protocol = choose('protocol', input.protocol, PROTOCOLS, 'tcp')
  if (input.target === undefined || input.target === '') throw usage('name the service to load with --target HOST:PORT')
  const target = parseTarget(input.target)
  const workload = workloadOf(protocol, input.mode)
  const size = sizeFor(workload, input.size)
  const rateCap = L.MAX_RATE
  const rate = input.rate === undefined
    ? (workload === 'udp' ? L.DEFAULT_UDP_RATE : null)
    : bounded('rate', input.rate, 0, 0.1, rateCap, false)
  if (rate !== null && workload === 'bulk') throw usage('--rate does not apply to bulk (it sends as fast as the path allows)')
  const maxConcurrency = workload === 'udp' ? L.MAX_UDP_FLOWS : L.MAX_CONCURRENCY
  const maxErrorRate = input.maxErrorRate === undefined ? null : bounded('max-error-rate', input.maxErrorRate, 0, 0, 1, false)
  const maxP99Ms = input.maxP99Ms === undefined ? null : bounded('max-p99-ms', input.maxP99Ms, 0, 0, L.MAX_TIMEOUT_MS, false)
  const path = input.path ?? '/'
  if (!/^\/[\x21-\x7e]*$/.test(path)) throw usage(`--path ${path}: expected an absolute path without spaces, e.g. /health`)
  if (maxP99Ms !== null && workload === 'bulk') throw usage('--max-p99-ms does not apply to bulk (it measures throughput, not latency)')
  if (input.host !== undefined && workload !== 'http') throw usage('--host applies to http only (it is the Host header)')
  if (input.host !== undefined && hostFromHeader(input.host) === undefined) throw usage(`--host ${input.host.slice(0, 80)}: expected a host name, optionally with :port, e.g. blog.example.com`)
  return {
    protocol,
    workload,
    target,
    targetName: formatTarget(target),
    durationMs: bounded('duration', input.duration, L.DEFAULT_DURATION_S, 0.01, L.MAX_DURATION_S, false) * 1000,
    maxOps: bounded('requests', input.requests, L.DEFAULT_MAX_OPS, 1, L.MAX_OPS),
    concurrency: bounded('concurrency', input.concurrency, workload === 'udp' ? 1 : L.DEFAULT_CONCURRENCY, 1, maxConcurrency),
    rate,
    size,
    replySize: bounded('reply-size', input.replySize, size, 0, L.MAX_TCP_SIZE_BYTES),
    timeoutMs: bounded('timeout-ms', input.timeoutMs, L.DEFAULT_TIMEOUT_MS, 1, L.MAX_TIMEOUT_MS),
    streams: bounded('streams', input.streams, L.DEFAULT_BULK_STREAMS, 1, L.MAX_BULK_STREAMS),
    direction: choose('direction', input.direction, ['up', 'down'] as const, 'up'),
    bytesPerStream: bounded('bytes', input.bytes, L.MAX_BULK_BYTES, 1, L.MAX_BULK_BYTES),
    path,
    hostHeader: input.host ?? formatTarget(target),
    keepAlive: input.keepAlive ?? true,
    thresholds: { maxErrorRate, maxP99Ms },
  }
}
