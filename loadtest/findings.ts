// Plain-language hints that come with a report: what the numbers say about where the limit is
// (the service, the tunnel, the listener's accept queue, or the load generator itself).
import type { BenchPlan } from './plan.js'
import type { RunState } from './run-state.js'
import { SAFE_UDP_SIZE_BYTES, SLOW_CONNECT_MS } from './limits.js'

/** Generator lag (p99, ms) above which the machine running the bench is called the limit. */
const LAG_WARN_MS = 10
/** Achieved / asked rate below which an open-loop run is said to have fallen short. */
const RATE_SHORTFALL = 0.9

export interface FindingInput {
  plan: BenchPlan
  state: RunState
  bulkUnverified: number
}

export function findings ({ plan, state, bulkUnverified }: FindingInput): string[] {
  const out: string[] = []
  const where = plan.targetName
  const e = state.errors
  if (state.slowConnects > 0) {
    out.push(`${state.slowConnects} connect(s) took ${SLOW_CONNECT_MS / 1000} s or more: a SYN was retransmitted, the sign of a full accept queue ` +
      `(or dropped SYNs) at ${where}. On that host compare Recv-Q with Send-Q of the LISTEN socket (ss -ltn) and watch ` +
      'TcpExtListenOverflows / TcpExtListenDrops (nstat -az); raise the backlog and net.core.somaxconn, or accept faster.')
  }
  if (state.connectTimeouts > 0) out.push(`${state.connectTimeouts} connect(s) got no answer within ${plan.timeoutMs} ms: SYNs dropped (a full accept queue, a firewall) or nothing routes to ${where}.`)
  if (e.refused > 0) {
    out.push(plan.workload === 'udp'
      ? `${e.refused} datagram(s) were refused (ICMP port unreachable): nothing listens on UDP ${where}, or the tunnel client could not reach its local service.`
      : `${e.refused} connection(s) refused: nothing listens at ${where} (is the proxy registered on the relay?).`)
  }
  if (e.reset > 0) out.push(`${e.reset} connection(s) reset: by the service, or by the tunnel when its client could not reach the local service (TUN_LOCAL_DIAL in the client's log).`)
  const replyTimeouts = e.timeout - state.connectTimeouts
  if (replyTimeouts > 0 && plan.workload !== 'udp') out.push(`${replyTimeouts} operation(s) got no complete reply within ${plan.timeoutMs} ms: the service stalled or the path lost the connection.`)
  if (e.closed > 0) out.push(`${e.closed} connection(s) closed before the whole reply: the service hung up.`)
  if (e.protocol > 0) out.push(`${e.protocol} reply(ies) were not what was asked for (${state.examples.protocol ?? ''}): is the target the right kind of service (tcp rr needs an echo)?`)
  if (e.local > 0) out.push(`${e.local} operation(s) failed on this machine (${state.examples.local ?? ''}): the load generator ran out of ports, file descriptors or buffers; it is the limit, not the target. Lower --concurrency or --rate, or raise ulimit -n.`)
  const lagP99 = state.sendLag.percentileMs(99)
  if (plan.rate !== null && lagP99 > LAG_WARN_MS) out.push(`the load generator started operations up to ${lagP99} ms late (p99): this machine's CPU is a limit at --rate ${plan.rate}.`)
  const elapsedS = state.elapsedMs() / 1000
  if (plan.rate !== null && elapsedS > 0 && state.stopReason === 'duration') {
    const achieved = (state.ok + state.failed) / elapsedS
    if (achieved < plan.rate * RATE_SHORTFALL) out.push(`${achieved.toFixed(1)} operations/s finished of the ${plan.rate}/s asked for: the target (or --concurrency ${plan.concurrency}) cannot keep up.`)
  }
  if (plan.workload === 'udp' && plan.size > SAFE_UDP_SIZE_BYTES) out.push(`datagrams of ${plan.size} B risk IP fragmentation on real paths (one lost fragment loses the datagram): ${SAFE_UDP_SIZE_BYTES} B or less is the safe range.`)
  if (bulkUnverified > 0) out.push(`${bulkUnverified} stream(s) got no byte count back: throughput counts bytes written, not bytes received (use \`tunnel echo --mode sink\` as the target).`)
  if (state.ok === 0 && state.failed === 0 && state.issued === 0) out.push('nothing was sent: the bounds (--duration, --requests) allowed no operation.')
  return out
}
