// Which remote ports a client may claim (pure): frp's allowPorts ranges, and candidate
// ports for `remotePort: 0` when allowPorts restricts the choice.
import type { PortRange } from '../../shared/config/index.js'

export function isPortAllowed (port: number, allow: readonly PortRange[]): boolean {
  if (allow.length === 0) return port >= 1 && port <= 65535
  return allow.some((r) => port >= r.start && port <= r.end)
}

export function describeRanges (allow: readonly PortRange[]): string {
  if (allow.length === 0) return '1-65535'
  return allow.map((r) => (r.start === r.end ? String(r.start) : `${r.start}-${r.end}`)).join(', ')
}

/**
 * Ports to try for `remotePort: 0`. Without allowPorts the OS picks (one candidate: 0);
 * otherwise up to `count` distinct random ports from the allowed ranges.
 */
export function candidatePorts (allow: readonly PortRange[], exclude: ReadonlySet<number>, count = 32, random: () => number = Math.random): number[] {
  if (allow.length === 0) return [0]
  const total = allow.reduce((n, r) => n + (r.end - r.start + 1), 0)
  const out = new Set<number>()
  for (let i = 0; i < count * 4 && out.size < Math.min(count, total); i++) {
    let k = Math.floor(random() * total)
    for (const r of allow) {
      const size = r.end - r.start + 1
      if (k < size) {
        const p = r.start + k
        if (!exclude.has(p)) out.add(p)
        break
      }
      k -= size
    }
  }
  return [...out]
}
