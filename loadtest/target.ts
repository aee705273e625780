// `--target HOST:PORT`: a host name, an IPv4 address, or `[v6]:port` (shared/net/address.ts).
import { TunnelError } from '../shared/errors.js'
import { formatHostPort, parseHostPort, type HostPort } from '../shared/net/index.js'

export type Target = HostPort

export function parseTarget (text: string): Target {
  const r = parseHostPort(text)
  if ('error' in r) throw new TunnelError('TUN_USAGE', `--target ${text}: ${r.error} (expected HOST:PORT or [IPv6]:PORT, e.g. 127.0.0.1:6000)`)
  return r
}

export function formatTarget (t: Target): string {
  return formatHostPort(t.host, t.port)
}
