// The performance goals of issue 21, each judged from the figures of one run: met, not met, or
// not measured (its scenario did not run). Ratios are to direct in the same run; the memory
// goals compare with a bare node process started in the same run.
import type { ResultRow } from './aggregate.js'
import type { BenchOptions } from './options.js'

/** RSS of one relay or client process over a bench run. */
export interface ProcessMemory {
  /** VmRSS after start-up, before any load. */
  idleRssBytes: number
  /**
   * VmRSS after sitting idle for --idle-settle seconds from the start (V8's memory reducer has run
   * by then: what an idle relay or client holds for most of its life); undefined when not read.
   */
  settledRssBytes?: number
  /** Largest VmRSS seen right after a run. */
  maxRssBytes: number
  /** Largest VmRSS read during the runs (every 100 ms) and right after them: under load. */
  underLoadMaxRssBytes: number
  /** VmHWM at the end: peak RSS over the whole run. */
  peakRssBytes: number
}

const MIB = 1024 * 1024

/** Keep-alive requests through the vhost: at least this fraction of direct. */
export const VHOST_GOAL_RATIO = 0.35
/** One and several encrypted bulk streams: at least this fraction of direct. */
export const BULK_GOAL_RATIO = 0.30
/** Encryption may cost at most a tenth of the plaintext tunnel's bulk throughput. */
export const ENCRYPTION_GOAL_KEEPS = 0.90
/** A new connection per request: at least this fraction of direct (rathole's). */
export const CLOSE_GOAL_RATIO = 0.25
/** Idle relay and client: at most this much above a bare node process. */
export const IDLE_GOAL_ABOVE_BARE_BYTES = 15 * MIB
/** Relay and client under load: at most this. */
export const LOAD_GOAL_MAX_BYTES = 100 * MIB
/** Idle connections through one client that must be held. */
export const STREAMS_GOAL = 10_000
/** "Nothing gets slower": latency and UDP rows keep at least this fraction of the base build's figure. */
export const NO_SLOWER_KEEPS = 0.90

export interface Goal {
  goal: string
  /** What was measured, in words; empty when not measured. */
  measured: string
  /** undefined: not measured in this run. */
  met: boolean | undefined
}

export interface GoalMemory {
  bareNodeRssBytes: number
  relay: ProcessMemory
  client: ProcessMemory
}

const mib = (b: number): string => `${(b / MIB).toFixed(1)} MiB`
const x = (r: number): string => `${r.toFixed(2)}x`

function row (results: readonly ResultRow[], metric: string): ResultRow | undefined {
  return results.find((r) => r.metric === metric)
}

function ratioGoal (results: readonly ResultRow[], metrics: readonly string[], min: number, goal: string): Goal {
  const rows = metrics.map((m) => row(results, m)).filter((r): r is ResultRow => r !== undefined)
  if (rows.length === 0) return { goal, measured: '', met: undefined }
  return {
    goal,
    measured: rows.map((r) => `${r.label} ${x(r.ratio)}`).join(', '),
    met: rows.every((r) => r.ratio >= min),
  }
}

export function evaluateGoals (results: readonly ResultRow[], memory: GoalMemory, options: BenchOptions): Goal[] {
  const goals: Goal[] = []
  goals.push(ratioGoal(results, ['vhost', 'wrkvhost'], VHOST_GOAL_RATIO, `vhost keep-alive >= ${VHOST_GOAL_RATIO}x of direct`))
  const bare = memory.bareNodeRssBytes
  // Judged on the settled reading when there is one (idle is where a relay spends its life), and
  // on the reading right after start-up otherwise; the measured text gives both.
  const idleOf = (p: ProcessMemory): number => p.settledRssBytes ?? p.idleRssBytes
  const idleAbove = Math.max(idleOf(memory.relay), idleOf(memory.client)) - bare
  const settled = memory.relay.settledRssBytes !== undefined && memory.client.settledRssBytes !== undefined
  goals.push({
    goal: `idle relay and client within ${mib(IDLE_GOAL_ABOVE_BARE_BYTES)} of a bare node (${mib(bare)})${settled ? ', settled' : ''}`,
    measured: settled
      ? `relay ${mib(idleOf(memory.relay))}, client ${mib(idleOf(memory.client))} settled (right after start-up ${mib(memory.relay.idleRssBytes)} and ${mib(memory.client.idleRssBytes)})`
      : `relay ${mib(memory.relay.idleRssBytes)}, client ${mib(memory.client.idleRssBytes)} right after start-up`,
    met: Number.isFinite(idleAbove) ? idleAbove <= IDLE_GOAL_ABOVE_BARE_BYTES : undefined,
  })
  const loaded = Math.max(memory.relay.underLoadMaxRssBytes, memory.client.underLoadMaxRssBytes, memory.relay.peakRssBytes, memory.client.peakRssBytes)
  goals.push({
    goal: `relay and client <= ${mib(LOAD_GOAL_MAX_BYTES)} under load`,
    measured: `relay max ${mib(memory.relay.underLoadMaxRssBytes)} (peak ${mib(memory.relay.peakRssBytes)}), client max ${mib(memory.client.underLoadMaxRssBytes)} (peak ${mib(memory.client.peakRssBytes)})`,
    met: Number.isFinite(loaded) && loaded > 0 ? loaded <= LOAD_GOAL_MAX_BYTES : undefined,
  })
  goals.push(ratioGoal(results, ['tcp1', 'tcp8'], BULK_GOAL_RATIO, `encrypted tcp1 and tcp${options.streams} >= ${BULK_GOAL_RATIO}x of direct`))
  const enc = ['tcp1', 'tcp8'].map((m) => row(results, m)).filter((r): r is ResultRow => r?.encryptedOverPlain !== undefined)
  goals.push(enc.length === 0
    ? { goal: `encryption costs at most ${Math.round((1 - ENCRYPTION_GOAL_KEEPS) * 100)} % of bulk throughput`, measured: '', met: undefined }
    : {
        goal: `encryption costs at most ${Math.round((1 - ENCRYPTION_GOAL_KEEPS) * 100)} % of bulk throughput`,
        measured: enc.map((r) => `${r.label} encrypted/plain ${x(r.encryptedOverPlain ?? NaN)}`).join(', '),
        met: enc.every((r) => (r.encryptedOverPlain ?? 0) >= ENCRYPTION_GOAL_KEEPS),
      })
  const close = row(results, 'wrkclose') ?? row(results, 'httpclose')
  goals.push(close === undefined
    ? { goal: `new connection per request >= ${CLOSE_GOAL_RATIO}x of direct`, measured: '', met: undefined }
    : { goal: `new connection per request >= ${CLOSE_GOAL_RATIO}x of direct`, measured: `${close.label} ${x(close.ratio)}`, met: close.ratio >= CLOSE_GOAL_RATIO })
  const held = row(results, 'idle-held')
  goals.push(held === undefined || options.idleStreams < STREAMS_GOAL
    ? { goal: `${STREAMS_GOAL.toLocaleString('en-US')} idle connections through one client`, measured: held === undefined ? '' : `only ${options.idleStreams} asked (--idle-streams)`, met: undefined }
    : { goal: `${STREAMS_GOAL.toLocaleString('en-US')} idle connections through one client`, measured: `${held.tunnel} of ${options.idleStreams} held`, met: held.tunnel >= STREAMS_GOAL })
  const steady = ['rr-p50', 'rr-p99', 'udp', 'udprr-p50'].map((m) => row(results, m)).filter((r): r is ResultRow => r?.overBase !== undefined)
  goals.push(steady.length === 0
    ? { goal: `rr latency and udp rows within ${Math.round((1 - NO_SLOWER_KEEPS) * 100)} % of the base build`, measured: options.baseCli === undefined ? '' : 'no rr or udp scenario ran', met: undefined }
    : {
        goal: `rr latency and udp rows within ${Math.round((1 - NO_SLOWER_KEEPS) * 100)} % of the base build`,
        measured: steady.map((r) => `${r.label} ${x(r.overBase ?? NaN)} of base`).join(', '),
        met: steady.every((r) => (r.overBase ?? 0) >= NO_SLOWER_KEEPS),
      })
  return goals
}
