// The relay's answer to a client's diagRequest: what the kernel here knows about that client's
// control connection (ss on the relay's end of it) and the path findings about it. One at a
// time per relay (each runs ss), the others are told to ask again.
import type { ServerConfig } from '../shared/config/index.js'
import { buildReport, collectFacts, type DiagTarget, type PeerView } from '../shared/diag/index.js'
import { relayTarget } from './diag-target.js'

/** Finding ids about the connection itself (not the relay's listeners or fds). */
const CONNECTION_FINDINGS = ['path.', 'control.']

export type PeerViewSource = (peerHost: string, peerPort: number) => Promise<PeerView | 'busy'>

export function relayPeerView (config: ServerConfig, boundPort: () => number | undefined): PeerViewSource {
  let busy = false
  return async (peerHost, peerPort) => {
    const port = boundPort()
    if (port === undefined) return { control: [], findings: [], unavailable: [{ fact: 'control connection', code: 'TUN_DIAG_SOURCE', reason: 'the relay is not listening' }] }
    if (busy) return 'busy'
    busy = true
    try {
      const target: DiagTarget = { ...relayTarget(config, [], port), listen: [], ownedListenerBacklog: null, control: { by: 'endpoint', port, peerHost, peerPort } }
      const report = buildReport(await collectFacts(target, { windowMs: 0 }))
      return {
        control: report.control,
        findings: report.findings.filter((f) => CONNECTION_FINDINGS.some((p) => f.id.startsWith(p))),
        unavailable: report.unavailable,
      }
    } finally {
      busy = false
    }
  }
}
