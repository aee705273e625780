// Runs one planned load test: the workload, the live progress, the bounds (duration, count, a
// hard stop one timeout plus a grace after the duration, an outside abort) and the report.
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { TunnelError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import { END_GRACE_MS } from './limits.js'
import type { BenchPlan } from './plan.js'
import { startProgress, type ProgressMode } from './progress.js'
import type { BenchDetail } from './report-html.js'
import { buildReport, type WorkloadResult } from './report.js'
import type { BenchReport } from './report-schema.js'
import { RunState } from './run-state.js'
import { runHttp } from './http-load.js'
import { runTcpBulk } from './tcp-bulk.js'
import { runTcpConnect } from './tcp-connect.js'
import { runTcpRr } from './tcp-rr.js'
import { runUdp } from './udp-load.js'

export interface RunOptions {
  log: Logger
  progress: ProgressMode
  /** Aborting ends the run at once (SIGINT); the report still comes back. */
  signal?: AbortSignal
}

async function runWorkload (plan: BenchPlan, state: RunState): Promise<WorkloadResult> {
  switch (plan.workload) {
    case 'rr': await runTcpRr(plan, state); return {}
    case 'connect': await runTcpConnect(plan, state); return {}
    case 'http': await runHttp(plan, state); return {}
    case 'bulk': return { bulk: await runTcpBulk(plan, state) }
    case 'udp': return { udp: await runUdp(plan, state) }
  }
}

/** The plan with its host name resolved once, so that no operation waits on DNS. */
async function resolved (plan: BenchPlan): Promise<BenchPlan> {
  if (isIP(plan.target.host) !== 0) return plan
  try {
    const { address } = await lookup(plan.target.host)
    return { ...plan, target: { host: address, port: plan.target.port } }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    throw new TunnelError('TUN_BENCH_TARGET', `cannot resolve ${plan.target.host} (${code}): check --target`, { cause: err })
  }
}

/** Runs the plan; throws TunnelError TUN_BENCH_TARGET when the target's host name does not resolve. */
export async function runBench (given: BenchPlan, options: RunOptions): Promise<BenchReport> {
  return (await runBenchDetailed(given, options)).report
}

/** runBench, plus what only the HTML report shows: percentile curves and the run over time. */
export async function runBenchDetailed (given: BenchPlan, options: RunOptions): Promise<{ report: BenchReport, detail: BenchDetail }> {
  const plan = await resolved(given)
  const startedAt = new Date()
  const finishTail = plan.workload === 'bulk' || plan.workload === 'udp'
  const state = new RunState({
    durationMs: plan.durationMs,
    maxOps: plan.workload === 'bulk' ? plan.streams : plan.maxOps,
    rate: plan.workload === 'bulk' ? null : plan.rate,
    tail: finishTail ? 'finish' : 'abandon',
  })
  const onAbort = (): void => { state.stop('aborted') }
  options.signal?.addEventListener('abort', onAbort, { once: true })
  if (options.signal?.aborted === true) onAbort()
  // Whatever the workload does, nothing outlives its duration by more than a timeout and a grace.
  const hardStop = setTimeout(onAbort, plan.durationMs + plan.timeoutMs + END_GRACE_MS)
  const progress = startProgress(options.progress, state, options.log)
  state.timeline.start(state)
  try {
    const result = await runWorkload(plan, state)
    state.finish()
    state.timeline.stop()
    const report = buildReport(plan, state, startedAt, result)
    const detail: BenchDetail = {
      latencyCurve: report.latencyMs === null ? [] : state.latency.percentileCurve(),
      connectCurve: report.connectMs === null ? [] : state.connect.percentileCurve(),
      timeline: state.timeline.points,
      relay: [],
    }
    return { report, detail }
  } finally {
    clearTimeout(hardStop)
    state.timeline.stop()
    progress.stop()
    options.signal?.removeEventListener('abort', onAbort)
  }
}
