// Advice on the control connection's path: MTU below Ethernet's, what it means for UDP,
// retransmissions, and a control connection that is not there.
import { ETHERNET_MTU } from '../path-mtu.js'
import type { ControlConnection, DiagFacts, Finding } from '../report.js'

/** Share of segments retransmitted above which the path is called lossy (with enough segments to tell). */
export const LOSSY_RETRANS_SHARE = 0.02
export const MIN_SEGMENTS_FOR_LOSS = 1000

export function pathFindings (f: DiagFacts): Finding[] {
  const out: Finding[] = []
  const missing = missingControl(f)
  if (missing !== undefined) out.push(missing)
  for (const group of groupBy(f.control.filter((c) => c.pathMtu !== null && c.pathMtu < ETHERNET_MTU), (c) => c.pathMtu as number)) {
    out.push(mtuFinding(group, f.control.length, f.sysctls['net.ipv4.tcp_mtu_probing']))
  }
  for (const c of f.control) {
    const lossy = retransmitFinding(c)
    if (lossy !== undefined) out.push(lossy)
  }
  return out
}

function missingControl (f: DiagFacts): Finding | undefined {
  if (f.controlExpected === null || f.control.length > 0) return undefined
  if (f.unavailable.some((u) => u.fact === 'ss' || u.fact === 'kernel facts')) return undefined
  if (f.missingListeners.some((m) => m.role === 'control')) return undefined // said once, as listener.missing
  const side = f.role === 'relay' ? 'the relay has no client connected' : 'the client is not connected to the relay'
  return {
    id: 'control.not-found',
    severity: 'warn',
    what: `no control connection (${f.controlExpected}): ${side}, or it runs in another network namespace or host`,
    advice: `run tunnel diag where the ${f.role === 'relay' ? 'relay' : 'client'} runs (same host, container or netns) while a client is connected`,
  }
}

function mtuFinding (group: ControlConnection[], total: number, mtuProbing: number | null): Finding {
  const c = group[0] as ControlConnection
  const mtu = c.pathMtu as number
  const udp = c.maxUdpPayload ?? { ipv4: 0, ipv6: 0 }
  const fromPeer = c.peerPathMtu !== null && c.peerPathMtu === mtu && (c.sendPathMtu ?? Infinity) > mtu
  const cause = fromPeer
    ? `the peer's segments (rcvmss ${c.rcvmss ?? '?'}) imply a path MTU of ${mtu} < ${ETHERNET_MTU}`
    : `MSS ${c.mss ?? '?'} implies a path MTU of ${mtu} < ${ETHERNET_MTU}`
  const which = group.length === 1 ? `control connection ${c.peer}` : `${group.length} of ${total} control connections`
  const probing = mtuProbing === 0 ? '; set net.ipv4.tcp_mtu_probing=1 if ICMP is filtered (PMTU black holes stall TCP)' : ''
  return {
    id: 'path.mtu-below-1500',
    severity: 'warn',
    what: `${cause} (${which})`,
    advice: `UDP datagrams above ${udp.ipv4} bytes (IPv4) / ${udp.ipv6} bytes (IPv6) will be fragmented on this path: keep UDP payloads at or below that${probing}`,
  }
}

function retransmitFinding (c: ControlConnection): Finding | undefined {
  if (c.retransTotal === null || c.segsOut === null || c.segsOut < MIN_SEGMENTS_FOR_LOSS) return undefined
  const share = c.retransTotal / c.segsOut
  if (share < LOSSY_RETRANS_SHARE) return undefined
  return {
    id: 'path.retransmits',
    severity: 'warn',
    what: `control connection ${c.peer} retransmitted ${(share * 100).toFixed(1)} % of its segments (${c.retransTotal} of ${c.segsOut})`,
    advice: 'the path loses packets and every stream of the tunnel shares it: check the link (ping -c 100 the peer, look for a full uplink or a bad Wi-Fi hop)',
  }
}

function groupBy<T, K> (items: readonly T[], key: (t: T) => K): T[][] {
  const groups = new Map<K, T[]>()
  for (const item of items) {
    const k = key(item)
    const g = groups.get(k)
    if (g === undefined) groups.set(k, [item])
    else g.push(item)
  }
  return [...groups.values()]
}
