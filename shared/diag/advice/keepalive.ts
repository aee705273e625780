// Advice on noticing a dead peer: what the heartbeat and TCP keepalive add up to, settings
// that leave a gap, a keepalive timer that shows the intended delay was not applied, and an RTT
// close to the heartbeat timeout.
import type { DiagFacts, Finding } from '../report.js'

/** The heartbeat timeout should be at least this many RTTs. */
export const RTTS_PER_TIMEOUT = 4
/** Slack for comparing a running keepalive timer with the idle it was given. */
const TIMER_SLACK_MS = 1_500

export function keepaliveFindings (f: DiagFacts): Finding[] {
  const out: Finding[] = []
  const k = f.keepalive
  const peer = f.role === 'relay' ? 'client' : 'relay'
  if (k.deadPeer !== null) {
    const d = k.deadPeer
    out.push({
      id: 'keepalive.detection',
      severity: 'info',
      what: `a dead ${peer} is noticed after ${fmt(d.idleS)} when the tunnel is idle (${d.idleBy}), ${fmt(d.busyS)} with data in flight (${d.busyBy})`,
      advice: f.role === 'relay'
        ? 'to notice sooner lower transport.heartbeatTimeout in frps.yml (keep it above the clients\' heartbeatInterval plus an RTT)'
        : 'to notice sooner lower transport.heartbeatTimeout in frpc.yml (keep it at least 2 × heartbeatInterval + RTT)',
    })
  }
  const hb = k.heartbeat
  if (hb !== null && f.role === 'client') {
    if ((hb.intervalS ?? 0) <= 0) {
      out.push({
        id: 'keepalive.heartbeat-off',
        severity: 'warn',
        what: 'transport.heartbeatInterval is off: the client sends no pings',
        advice: 'set transport.heartbeatInterval (default 10) below the NAT\'s idle timeout, or an idle tunnel depends on TCP keepalive to keep its NAT mapping',
      })
    }
    if ((hb.timeoutS ?? 0) <= 0) {
      out.push({
        id: 'keepalive.heartbeat-timeout-off',
        severity: 'warn',
        what: `transport.heartbeatTimeout is off: a dead relay is noticed only when the kernel gives up retransmitting (~${fmt(k.retransmitGiveUpS)}, tcp_retries2 ${f.sysctls['net.ipv4.tcp_retries2'] ?? '?'})`,
        advice: 'set transport.heartbeatTimeout (default 40, with heartbeatInterval 10)',
      })
    } else if ((hb.intervalS ?? 0) > 0 && (hb.timeoutS ?? 0) < 2 * (hb.intervalS ?? 0)) {
      out.push({
        id: 'keepalive.timeout-tight',
        severity: 'warn',
        what: `transport.heartbeatTimeout ${hb.timeoutS ?? '?'} s is under two heartbeat intervals (${hb.intervalS ?? '?'} s)`,
        advice: 'one late ping ends the session: make heartbeatTimeout at least 2 × heartbeatInterval + RTT (frp uses 90 with 30)',
      })
    }
  }
  const timeoutS = hb?.timeoutS ?? 0
  if (k.controlRttMs !== null && timeoutS > 0 && k.controlRttMs * RTTS_PER_TIMEOUT > timeoutS * 1000) {
    out.push({
      id: 'keepalive.rtt-near-timeout',
      severity: 'warn',
      what: `the control connection's RTT ${k.controlRttMs} ms is more than a quarter of transport.heartbeatTimeout ${timeoutS} s`,
      advice: 'a slow or bufferbloated path can end sessions that are alive: raise transport.heartbeatTimeout',
    })
  }
  out.push(...timerFindings(f))
  const visitors = k.sockets.find((s) => s.kind === 'visitor' && !s.enabled)
  if (visitors !== undefined && f.role === 'relay') {
    out.push({
      id: 'keepalive.visitor-off',
      severity: 'info',
      what: 'visitor connections have no TCP keepalive: a visitor that vanishes without a FIN keeps its socket (and stream) until data moves again',
      advice: 'nothing to change unless ESTAB visitor sockets pile up (see connection states); then look for visitors behind NATs that drop idle mappings',
    })
  }
  return out
}

/** A control socket whose keepalive timer runs longer than the idle we set: the setting did not apply. */
function timerFindings (f: DiagFacts): Finding[] {
  const control = f.keepalive.sockets.find((s) => s.kind === 'control')
  if (control === undefined || !control.enabled || control.idleS === null) return []
  const limitMs = control.idleS * 1000 + TIMER_SLACK_MS
  return f.control
    .filter((c) => c.keepaliveTimer !== null && c.keepaliveTimer.remainingMs > limitMs)
    .map((c) => ({
      id: 'keepalive.not-applied',
      severity: 'warn' as const,
      what: `the keepalive timer of control connection ${c.peer} runs ${fmt((c.keepaliveTimer?.remainingMs ?? 0) / 1000)}, longer than the ${control.idleS} s it is given`,
      advice: `its keepalive runs on net.ipv4.tcp_keepalive_time (${f.sysctls['net.ipv4.tcp_keepalive_time'] ?? '?'} s): report this with the output of tunnel diag --json`,
    }))
}

export function fmt (seconds: number | null): string {
  if (seconds === null) return 'never'
  if (seconds >= 120) return `${Math.round(seconds)} s (~${Math.round(seconds / 60)} min)`
  return `${Math.round(seconds * 10) / 10} s`
}
