// `--target HOST:PORT`: a host name, an IPv4 address, or `[v6]:port`.
import { isIP } from 'node:net'
import { TunnelError } from '../shared/errors.js'
import { formatHostPort } from '../shared/net/address.js'

export interface Target {
  host: string
  port: number
}

export function parseTarget (text: string): Target {
  const bad = (why: string): TunnelError =>
    new TunnelError('TUN_USAGE', `--target ${text}: ${why} (expected HOST:PORT or [IPv6]:PORT, e.g. 127.0.0.1:6000)`)
  let host: string
  let portText: string
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text)
  if (m !== null) {
    host = m[1] ?? ''
    portText = m[2] ?? ''
    if (isIP(host) !== 6) throw bad(`${host} is not an IPv6 address`)
  } else {
    const colon = text.lastIndexOf(':')
    if (colon <= 0) throw bad('no port')
    host = text.slice(0, colon)
    portText = text.slice(colon + 1)
    if (host.includes(':')) throw bad('put an IPv6 address in brackets')
  }
  if (!/^\d+$/.test(portText)) throw bad(`port ${portText || '(empty)'} is not a number`)
  const port = Number(portText)
  if (port < 1 || port > 65_535) throw bad(`port ${port} is outside 1-65535`)
  return { host, port }
}

export function formatTarget (t: Target): string {
  return formatHostPort(t.host, t.port)
}
