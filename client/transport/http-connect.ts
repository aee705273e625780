// Through an HTTP proxy (transport.proxyURL http:// or https://): one CONNECT to the relay's
// host:port, Basic credentials from the URL, and the proxy's answer read with a bound. A 407 is a
// credentials error (TUN_PROXY_URL_AUTH, exit 2 at the first login), any other non-2xx status a
// refusal (TUN_PROXY_URL_REFUSED, retried); both name the proxy and quote its status line.
import type { Socket } from 'node:net'
import { describeProxy, type ProxyUrl } from '../../shared/config/index.js'
import { TunnelError } from '../../shared/errors.js'
import { formatHostPort } from '../../shared/net/index.js'
import { readHandshakeMessage } from '../../shared/transport/index.js'

/** Longest answer header read from a proxy (tinyproxy and squid send a few hundred bytes). */
export const MAX_PROXY_RESPONSE_BYTES = 16 * 1024

export interface ProxyAnswer {
  status: number
  /** The status line as sent (for messages), at most 200 characters. */
  statusLine: string
}

/** The CONNECT request for `host:port` (IPv6 in brackets), with Basic credentials when the URL has any. */
export function connectRequest (host: string, port: number, proxy: Pick<ProxyUrl, 'user' | 'password'>): string {
  const target = formatHostPort(host, port)
  const lines = [`CONNECT ${target} HTTP/1.1`, `Host: ${target}`, 'User-Agent: tunnel']
  if (proxy.user !== '' || proxy.password !== null) {
    const pass = proxy.password === null ? '' : Buffer.from(proxy.password.reveal()).toString('utf8')
    lines.push(`Proxy-Authorization: Basic ${Buffer.from(`${proxy.user}:${pass}`, 'utf8').toString('base64')}`)
  }
  return `${lines.join('\r\n')}\r\n\r\n`
}

/** The proxy's answer once its header is complete (undefined until then); throws on one that is not HTTP. */
export function parseProxyAnswer (buf: Buffer): { value: ProxyAnswer, used: number } | undefined {
  if (buf.length >= 5 && buf.subarray(0, 5).toString('latin1') !== 'HTTP/') {
    throw new TunnelError('TUN_PROXY_URL_REFUSED', 'did not answer like an HTTP proxy (no HTTP status line)')
  }
  const end = buf.indexOf('\r\n\r\n')
  if (end === -1) return undefined
  const statusLine = buf.subarray(0, buf.indexOf('\r\n')).toString('latin1').slice(0, 200)
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine)
  if (m === null) throw new TunnelError('TUN_PROXY_URL_REFUSED', `did not answer like an HTTP proxy: ${JSON.stringify(statusLine)}`)
  return { value: { status: Number(m[1]), statusLine }, used: end + 4 }
}

/**
 * Asks the proxy on `socket` to connect to host:port; resolves once it has (the socket then
 * carries bytes to the relay, paused, with any early bytes unshifted back).
 */
export async function httpConnect (socket: Socket, host: string, port: number, proxy: ProxyUrl, signal: AbortSignal): Promise<void> {
  const where = `the HTTP proxy ${describeProxy(proxy)} (${proxy.source})`
  socket.write(connectRequest(host, port, proxy))
  let answer: ProxyAnswer
  let rest: Buffer
  try {
    ({ value: answer, rest } = await readHandshakeMessage(socket, parseProxyAnswer, {
      maxBytes: MAX_PROXY_RESPONSE_BYTES,
      signal,
      closed: () => new TunnelError('TUN_PROXY_URL_REFUSED', 'closed the connection without an answer'),
    }))
  } catch (err) {
    const e = err instanceof TunnelError ? err : new TunnelError('TUN_PROXY_URL_REFUSED', String(err))
    const code = e.code === 'TUN_HANDSHAKE_TIMEOUT' ? 'TUN_CONNECT' : e.code === 'TUN_HANDSHAKE_INVALID' ? 'TUN_PROXY_URL_REFUSED' : e.code
    throw new TunnelError(code, `${where} ${e.code === 'TUN_HANDSHAKE_TIMEOUT' ? 'did not answer CONNECT in time' : e.message}`, { cause: err })
  }
  // 407 is the standard answer; tinyproxy answers wrong credentials with 401. A CONNECT is answered
  // by the proxy itself (there is no origin server yet), so either means the proxy's credentials.
  if (answer.status === 407 || answer.status === 401) {
    const why = proxy.user === '' && proxy.password === null ? 'it wants credentials and the URL has none' : 'it refused the user name and password of the URL'
    throw new TunnelError('TUN_PROXY_URL_AUTH', `${where} answered "${answer.statusLine}": ${why}`)
  }
  if (answer.status < 200 || answer.status > 299) {
    throw new TunnelError('TUN_PROXY_URL_REFUSED', `${where} refused to connect to the relay at ${formatHostPort(host, port)}: it answered "${answer.statusLine}"`)
  }
  if (rest.length > 0) socket.unshift(rest)
}
