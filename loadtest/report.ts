// Turns a finished run into the report (the shape of report-schema.ts).
import { availableParallelism } from 'node:os'
import { findings } from './findings.js'
import type { BenchPlan } from './plan.js'
import { REPORT_VERSION, type BenchReport } from './report-schema.js'
import type { RunState } from './run-state.js'
import type { BulkResult } from './tcp-bulk.js'
import { checkThresholds } from './thresholds.js'
import type { UdpResult } from './udp-load.js'

export interface WorkloadResult {
  bulk?: BulkResult
  udp?: UdpResult
}

const perSecond = (n: number, seconds: number): number => seconds > 0 ? n / seconds : 0

export function buildReport (plan: BenchPlan, state: RunState, startedAt: Date, result: WorkloadResult): BenchReport {
  const elapsedS = state.elapsedMs() / 1000
  const finished = state.ok + state.failed
  const errorRate = finished === 0 ? 0 : state.failed / finished
  const latency = plan.workload === 'bulk' ? null : state.latency.summary()
  const bulk = result.bulk
  const bulkUnverified = plan.direction === 'up' ? (bulk?.streams.filter((s) => !s.verified).length ?? 0) : 0
  return {
    tool: 'tunnel bench',
    reportVersion: REPORT_VERSION,
    protocol: plan.protocol,
    workload: plan.workload,
    target: plan.targetName,
    startedAt: startedAt.toISOString(),
    settings: {
      durationS: plan.durationMs / 1000,
      maxOps: plan.workload === 'bulk' ? plan.streams : plan.maxOps,
      concurrency: plan.workload === 'bulk' ? plan.streams : plan.concurrency,
      rate: plan.rate,
      size: plan.size,
      replySize: plan.replySize,
      timeoutMs: plan.timeoutMs,
      streams: plan.streams,
      direction: plan.direction,
      path: plan.path,
      keepAlive: plan.keepAlive,
    },
    stoppedBy: state.stopReason ?? 'aborted',
    elapsedS,
    counts: { issued: state.issued, ok: state.ok, failed: state.failed, abandoned: state.abandoned },
    errorRate,
    errors: { ...state.errors },
    errorExamples: { ...state.examples },
    throughput: {
      opsPerSecond: perSecond(state.ok, elapsedS),
      bytesSent: state.bytesSent,
      bytesReceived: state.bytesReceived,
      sentBitsPerSecond: perSecond(state.bytesSent * 8, elapsedS),
      receivedBitsPerSecond: perSecond(state.bytesReceived * 8, elapsedS),
    },
    latencyMs: latency,
    connectMs: plan.workload === 'udp' ? null : state.connect.summary(),
    slowConnects: state.slowConnects,
    connectTimeouts: state.connectTimeouts,
    sendLagMs: plan.rate === null ? null : state.sendLag.summary(),
    bulk: bulk === undefined
      ? null
      : {
          bytesPerSecond: bulk.bytesPerSecond,
          bitsPerSecond: bulk.bytesPerSecond * 8,
          streams: bulk.streams.map((s) => ({ bytes: s.bytes, seconds: s.seconds, bitsPerSecond: perSecond(s.bytes * 8, s.seconds), verified: s.verified })),
        },
    udp: result.udp ?? null,
    findings: findings({ plan, state, bulkUnverified }),
    relay: null,
    thresholds: checkThresholds(plan.thresholds, { errorRate, finished, latencySamples: latency?.count ?? 0, p99Ms: latency?.p99 ?? 0 }),
    env: { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: availableParallelism() },
  }
}
