// Through a SOCKS5 proxy (transport.proxyURL socks5://): RFC 1928 CONNECT with the relay's name
// (resolved by the proxy) and, when the URL has credentials, RFC 1929 user/password. Written here
// rather than taken from a library so that every refusal has its RFC meaning and our error code
// (a credentials failure exits 2; the other replies are retried) without reading a library's
// message text, and every read is bounded the way the handshake's are.
import { isIP, type Socket } from 'node:net'
import { describeProxy, type ProxyUrl } from '../../shared/config/index.js'
import { TunnelError } from '../../shared/errors.js'
import { readHandshakeMessage } from '../../shared/transport/index.js'

export const SOCKS_VERSION = 5
export const SocksMethod = { NONE: 0x00, USER_PASSWORD: 0x02, NO_ACCEPTABLE: 0xff } as const
/** RFC 1928 §6 replies. */
export const SOCKS_REPLIES: Readonly<Record<number, string>> = {
  0x01: 'general SOCKS server failure',
  0x02: 'connection not allowed by ruleset',
  0x03: 'network unreachable',
  0x04: 'host unreachable',
  0x05: 'connection refused',
  0x06: 'TTL expired',
  0x07: 'command not supported',
  0x08: 'address type not supported',
}
const ATYP = { IPV4: 1, DOMAIN: 3, IPV6: 4 } as const

type Step<T> = (buf: Buffer) => { value: T, used: number } | undefined

/** The greeting: the methods we offer (user/password only when the URL has credentials). */
export function greeting (withCredentials: boolean): Buffer {
  return Buffer.from(withCredentials ? [SOCKS_VERSION, 2, SocksMethod.NONE, SocksMethod.USER_PASSWORD] : [SOCKS_VERSION, 1, SocksMethod.NONE])
}

export const parseMethodChoice: Step<number> = (buf) => {
  if (buf.length < 2) return undefined
  if (buf[0] !== SOCKS_VERSION) throw new TunnelError('TUN_PROXY_URL_REFUSED', `is not a SOCKS5 proxy (it answered version ${buf[0] ?? 0})`)
  return { value: buf[1] ?? SocksMethod.NO_ACCEPTABLE, used: 2 }
}

/** RFC 1929 sub-negotiation (user and password at most 255 bytes each, checked at load). */
export function credentials (user: string, password: string): Buffer {
  const u = Buffer.from(user, 'utf8')
  const p = Buffer.from(password, 'utf8')
  return Buffer.concat([Buffer.from([1, u.length]), u, Buffer.from([p.length]), p])
}

export const parseAuthStatus: Step<number> = (buf) => (buf.length < 2 ? undefined : { value: buf[1] ?? 0xff, used: 2 })

/** CONNECT to host:port: an IP literal as an address, anything else as a name for the proxy to resolve. */
export function connectRequest (host: string, port: number): Buffer {
  const portBytes = Buffer.from([port >> 8, port & 0xff])
  const head = Buffer.from([SOCKS_VERSION, 1, 0])
  if (isIP(host) === 4) return Buffer.concat([head, Buffer.from([ATYP.IPV4, ...host.split('.').map(Number)]), portBytes])
  if (isIP(host) === 6) return Buffer.concat([head, Buffer.from([ATYP.IPV6]), ipv6(host), portBytes])
  const name = Buffer.from(host, 'utf8')
  if (name.length > 255) throw new TunnelError('TUN_CONNECT', `the relay's name is longer than SOCKS5 allows (255 bytes): ${host.slice(0, 40)}...`)
  return Buffer.concat([head, Buffer.from([ATYP.DOMAIN, name.length]), name, portBytes])
}

/** The CONNECT reply: its code once the whole reply (with the bound address) is in. */
export const parseConnectReply: Step<number> = (buf) => {
  if (buf.length < 5) return undefined
  if (buf[0] !== SOCKS_VERSION) throw new TunnelError('TUN_PROXY_URL_REFUSED', `answered CONNECT with version ${buf[0] ?? 0}, not SOCKS5`)
  const atyp = buf[3]
  const addr = atyp === ATYP.IPV4 ? 4 : atyp === ATYP.IPV6 ? 16 : atyp === ATYP.DOMAIN ? 1 + (buf[4] ?? 0) : -1
  if (addr < 0) throw new TunnelError('TUN_PROXY_URL_REFUSED', `answered CONNECT with address type ${atyp ?? 0}`)
  const size = 4 + addr + 2
  return buf.length < size ? undefined : { value: buf[1] ?? 0xff, used: size }
}

function ipv6 (text: string): Buffer {
  const [head = '', tail] = text.split('%')[0]?.split('::') ?? ['']
  const words = (s: string): number[] => (s === '' ? [] : s.split(':').map((w) => parseInt(w, 16)))
  const h = words(head)
  const t = tail === undefined ? [] : words(tail)
  const all = [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t]
  return Buffer.from(all.flatMap((w) => [w >> 8, w & 0xff]))
}

/** Longest SOCKS5 answer (a CONNECT reply with a 255-byte name). */
const MAX_SOCKS_ANSWER_BYTES = 4 + 1 + 255 + 2

/** Runs the SOCKS5 exchange on `socket` (connected to the proxy) for host:port. */
export async function socks5Connect (socket: Socket, host: string, port: number, proxy: ProxyUrl, signal: AbortSignal): Promise<void> {
  const where = `the SOCKS5 proxy ${describeProxy(proxy)} (${proxy.source})`
  const hasCredentials = proxy.user !== '' || proxy.password !== null
  let rest: Buffer = Buffer.alloc(0)
  const read = async <T>(step: Step<T>): Promise<T> => {
    try {
      const r = await readHandshakeMessage(socket, step, {
        maxBytes: MAX_SOCKS_ANSWER_BYTES,
        signal,
        initial: rest,
        closed: () => new TunnelError('TUN_PROXY_URL_REFUSED', 'closed the connection'),
      })
      rest = r.rest
      return r.value
    } catch (err) {
      const e = err instanceof TunnelError ? err : new TunnelError('TUN_PROXY_URL_REFUSED', String(err))
      const code = e.code === 'TUN_HANDSHAKE_TIMEOUT' ? 'TUN_CONNECT' : e.code === 'TUN_HANDSHAKE_INVALID' ? 'TUN_PROXY_URL_REFUSED' : e.code
      throw new TunnelError(code, `${where} ${e.code === 'TUN_HANDSHAKE_TIMEOUT' ? 'did not answer in time' : e.message}`, { cause: err })
    }
  }
  socket.write(greeting(hasCredentials))
  const method = await read(parseMethodChoice)
  if (method === SocksMethod.USER_PASSWORD && hasCredentials) {
    const password = proxy.password === null ? '' : Buffer.from(proxy.password.reveal()).toString('utf8')
    socket.write(credentials(proxy.user, password))
    const status = await read(parseAuthStatus)
    if (status !== 0) throw new TunnelError('TUN_PROXY_URL_AUTH', `${where} refused the user name and password of the URL (RFC 1929 status ${status})`)
  } else if (method === SocksMethod.NO_ACCEPTABLE) {
    throw new TunnelError('TUN_PROXY_URL_AUTH', hasCredentials
      ? `${where} accepts none of our methods (no authentication, user/password)`
      : `${where} wants authentication and the URL has no credentials (it accepts none of our methods)`)
  } else if (method !== SocksMethod.NONE) {
    throw new TunnelError('TUN_PROXY_URL_REFUSED', `${where} chose method ${method}, which we did not offer`)
  }
  socket.write(connectRequest(host, port))
  const reply = await read(parseConnectReply)
  if (reply !== 0) {
    throw new TunnelError('TUN_PROXY_URL_REFUSED', `${where} refused to connect to the relay: ${SOCKS_REPLIES[reply] ?? `reply ${reply}`}`)
  }
  if (rest.length > 0) socket.unshift(rest)
}
