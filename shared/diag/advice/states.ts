// Advice on connection states (CLOSE-WAIT and SYN-RECV on our ports, TIME-WAIT in the
// namespace) and on file descriptors against their limit.
import type { DiagFacts, Finding } from '../report.js'

export const CLOSE_WAIT_WARN = 8
export const SYN_RECV_WARN = 64
export const TIME_WAIT_INFO = 20_000
export const FD_WARN_SHARE = 0.75
export const FD_ERROR_SHARE = 0.9
/** A soft fd limit below this caps a relay at a few hundred visitors. */
export const FD_LOW_LIMIT = 4096

export function stateFindings (f: DiagFacts): Finding[] {
  const out: Finding[] = []
  for (const { port, counts } of f.states.byPort) {
    const closeWait = counts['CLOSE-WAIT'] ?? 0
    if (closeWait >= CLOSE_WAIT_WARN) {
      out.push({
        id: 'states.close-wait',
        severity: 'warn',
        what: `${closeWait} sockets in CLOSE-WAIT on port ${port}`,
        advice: 'CLOSE-WAIT pile-up: a program never closes its sockets after the peer closed (if it is tunnel, report it with this output)',
      })
    }
    const synRecv = counts['SYN-RECV'] ?? 0
    if (synRecv >= SYN_RECV_WARN) {
      out.push({
        id: 'states.syn-recv',
        severity: 'warn',
        what: `${synRecv} handshakes half-done (SYN-RECV) on port ${port}`,
        advice: 'a SYN flood or clients that vanish mid-handshake: keep net.ipv4.tcp_syncookies=1',
      })
    }
  }
  const tw = f.states.namespace.timeWait
  if (tw !== null && tw >= TIME_WAIT_INFO) {
    out.push({
      id: 'states.time-wait',
      severity: 'info',
      what: `${tw} sockets in TIME-WAIT in this network namespace`,
      advice: 'many short connections closed by this host (normal); if outgoing connects fail with EADDRNOTAVAIL set net.ipv4.tcp_tw_reuse=1',
    })
  }
  out.push(...fdFindings(f))
  return out
}

function fdFindings (f: DiagFacts): Finding[] {
  const { open, softLimit, pid, source } = f.fds
  if (softLimit === null) return []
  const who = `${source}${pid === null ? '' : ` (pid ${pid})`}`
  const advice = 'raise the limit: LimitNOFILE=65536 in the systemd unit, or ulimit -n 65536 before starting (each visitor connection holds an fd on the relay, each stream one on the client)'
  if (open !== null && open >= softLimit * FD_WARN_SHARE) {
    return [{
      id: 'fds.near-limit',
      severity: open >= softLimit * FD_ERROR_SHARE ? 'error' : 'warn',
      what: `${who} has ${open} fds open of its limit ${softLimit}`,
      advice,
    }]
  }
  if (softLimit < FD_LOW_LIMIT && f.role !== 'ports') {
    return [{ id: 'fds.low-limit', severity: 'info', what: `Max open files is ${softLimit} for ${who}: at most about ${softLimit} connections at once`, advice }]
  }
  return []
}
