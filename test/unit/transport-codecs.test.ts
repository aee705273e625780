// The pure pieces of the transports (issue 18): the relay's first-byte sniffer, the upgrade
// request parser and X-Forwarded-For, the self-signed certificate, the client's proxy URL and
// environment rules, the HTTP CONNECT answer and the SOCKS5 messages.
import { X509Certificate } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { httpConnectRequest, parseConnectReply, parseMethodChoice, parseProxyAnswer, socksConnectRequest, socksCredentials, socksGreeting, websocketUrl } from '../../client/transport/index.js'
import { classifyFirstByte, forwardedSource, MAX_UPGRADE_REQUEST_BYTES, parseUpgradeRequest, SELF_SIGNED_COMMON_NAME, selfSignedCertificate, upgradeStatus } from '../../server/transport/index.js'
import { noProxyMatches, parseProxyUrl, proxyFromEnv } from '../../shared/config/index.js'
import { TunnelError } from '../../shared/errors.js'
import { SourceFilter } from '../../shared/net/index.js'

describe('the relay\'s first-byte sniffer', () => {
  it('tells the hello, TLS (with and without frp\'s marker) and an HTTP GET apart, and nothing else', () => {
    expect(classifyFirstByte('T'.charCodeAt(0))).toBe('hello')
    expect(classifyFirstByte(0x16)).toBe('tls')
    expect(classifyFirstByte(0x17)).toBe('tls-marker')
    expect(classifyFirstByte('G'.charCodeAt(0))).toBe('http')
    const others = Array.from({ length: 256 }, (_, b) => b).filter((b) => classifyFirstByte(b) !== undefined)
    expect(others).toHaveLength(4)
  })
})

describe('the WebSocket upgrade request', () => {
  const request = (lines: string[]): Buffer => Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')
  const nginx = request(['GET /~!frp HTTP/1.1', 'Host: relay.example.com', 'Upgrade: websocket', 'Connection: upgrade', 'X-Forwarded-For: 203.0.113.7', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13'])

  it('is read once its header is complete, whatever the split, and what follows is left alone', () => {
    const withFrame = Buffer.concat([nginx, Buffer.from([0x82, 0x00])])
    for (let cut = 0; cut < nginx.length; cut++) expect(parseUpgradeRequest(withFrame.subarray(0, cut))).toBeUndefined()
    const r = parseUpgradeRequest(withFrame)
    expect(r?.used).toBe(nginx.length)
    expect(r?.value).toMatchObject({ method: 'GET', target: '/~!frp' })
    expect(r?.value.headers['x-forwarded-for']).toBe('203.0.113.7')
    expect(upgradeStatus(r?.value ?? { method: '', target: '', headers: {} })).toBe(0)
  })

  it('answers 404 for another path, 400 without the upgrade headers, 405 for another method', () => {
    const status = (lines: string[]): number => upgradeStatus(parseUpgradeRequest(request(lines))?.value ?? { method: '', target: '', headers: {} })
    expect(status(['GET / HTTP/1.1', 'Host: x'])).toBe(404)
    expect(status(['GET /~!frp HTTP/1.1', 'Host: x'])).toBe(400)
    expect(status(['POST /~!frp HTTP/1.1', 'Upgrade: websocket', 'Connection: Upgrade'])).toBe(405)
    expect(status(['GET /~!frp?x=1 HTTP/1.1', 'Upgrade: WebSocket', 'Connection: keep-alive, Upgrade'])).toBe(0)
  })

  it('refuses what is not HTTP, a malformed header and too many headers, with a handshake error', () => {
    const refuses = (b: Buffer): string | undefined => {
      try {
        parseUpgradeRequest(b)
        return undefined
      } catch (err) {
        return err instanceof TunnelError ? err.code : 'other'
      }
    }
    expect(refuses(request(['GET /~!frp'] ))).toBe('TUN_HANDSHAKE_INVALID')
    expect(refuses(request(['GET /~!frp HTTP/1.1', 'no colon here']))).toBe('TUN_HANDSHAKE_INVALID')
    expect(refuses(request(['GET /~!frp HTTP/1.1', ...Array.from({ length: 65 }, (_, i) => `X-${i}: y`)]))).toBe('TUN_HANDSHAKE_INVALID')
    expect(MAX_UPGRADE_REQUEST_BYTES).toBe(8 * 1024)
  })
})

describe('X-Forwarded-For from a trusted proxy', () => {
  const trusted = new SourceFilter(['127.0.0.1', '10.0.0.0/8'], [])
  it('names the rightmost address that is not itself a trusted proxy', () => {
    expect(forwardedSource('203.0.113.7', trusted)).toBe('203.0.113.7')
    expect(forwardedSource('198.51.100.1, 203.0.113.7, 10.1.2.3', trusted)).toBe('203.0.113.7')
    expect(forwardedSource('::ffff:203.0.113.9', trusted)).toBe('203.0.113.9')
    expect(forwardedSource('[2001:db8::1]:443', trusted)).toBe('2001:db8::1')
  })

  it('gives nothing (the TCP peer counts) for an absent header or garbage, and the last trusted hop when all are trusted', () => {
    expect(forwardedSource(undefined, trusted)).toBeUndefined()
    expect(forwardedSource('  ', trusted)).toBeUndefined()
    expect(forwardedSource('unknown', trusted)).toBeUndefined()
    expect(forwardedSource('10.0.0.1, 10.0.0.2', trusted)).toBe('10.0.0.1')
  })
})

describe('the self-signed certificate of a relay without certFile', () => {
  it('is an X.509 certificate that verifies with its own key, valid now and for years', () => {
    const now = Date.now()
    const { cert, key } = selfSignedCertificate(now)
    const x = new X509Certificate(cert)
    expect(x.subject).toBe(`CN=${SELF_SIGNED_COMMON_NAME}`)
    expect(x.verify(x.publicKey)).toBe(true)
    expect(new Date(x.validFrom).getTime()).toBeLessThanOrEqual(now)
    expect(new Date(x.validTo).getTime() - now).toBeGreaterThan(9 * 365 * 24 * 3600 * 1000)
    expect(key).toContain('BEGIN PRIVATE KEY')
    expect(new X509Certificate(selfSignedCertificate(now).cert).serialNumber).not.toBe(x.serialNumber)
  })
})

describe('transport.proxyURL', () => {
  it('takes http, https and socks5 (socks5h too) with default ports and percent-encoded credentials', () => {
    expect(parseProxyUrl('http://alice:p%40ss@proxy.example.com:3128', 'x')).toMatchObject({ scheme: 'http', host: 'proxy.example.com', port: 3128, user: 'alice' })
    const p = parseProxyUrl('http://alice:p%40ss@proxy.example.com:3128', 'x')
    expect('password' in p && p.password !== null ? Buffer.from(p.password.reveal()).toString() : '').toBe('p@ss')
    expect(parseProxyUrl('socks5://[::1]', 'x')).toMatchObject({ scheme: 'socks5', host: '::1', port: 1080, user: '', password: null })
    expect(parseProxyUrl('socks5h://h:9050', 'x')).toMatchObject({ scheme: 'socks5', port: 9050 })
    expect(parseProxyUrl('https://h', 'x')).toMatchObject({ scheme: 'https', port: 443 })
  })

  it('refuses ntlm, other schemes, paths and non-URLs with a reason that never repeats the password', () => {
    for (const bad of ['ntlm://u:secret-pw@h:1', 'ftp://u:secret-pw@h', 'http://u:secret-pw@h:1/path', 'proxy.example.com:3128']) {
      const r = parseProxyUrl(bad, 'x')
      expect('problem' in r, bad).toBe(true)
      expect(JSON.stringify(r)).not.toContain('secret-pw')
    }
  })

  it('defaults to http_proxy (frp\'s), then HTTP_PROXY; for wss https_proxy first; never when NO_PROXY names the relay', () => {
    expect(proxyFromEnv({ http_proxy: 'http://a:1', HTTP_PROXY: 'http://b:1' }, false, 'relay', 7000)).toEqual({ name: 'http_proxy', value: 'http://a:1' })
    expect(proxyFromEnv({ HTTP_PROXY: 'http://b:1' }, false, 'relay', 7000)?.name).toBe('HTTP_PROXY')
    expect(proxyFromEnv({ https_proxy: 'http://s:1', http_proxy: 'http://a:1' }, true, 'relay', 443)?.name).toBe('https_proxy')
    expect(proxyFromEnv({ https_proxy: 'http://s:1' }, false, 'relay', 7000)).toBeUndefined()
    expect(proxyFromEnv({ http_proxy: 'http://a:1', NO_PROXY: 'relay' }, false, 'relay', 7000)).toBeUndefined()
    expect(proxyFromEnv({}, false, 'relay', 7000)).toBeUndefined()
  })

  it('matches NO_PROXY as curl does: *, names and their subdomains, host:port, IPs and CIDRs', () => {
    expect(noProxyMatches('*', 'anything', 1)).toBe(true)
    expect(noProxyMatches('example.com', 'relay.example.com', 1)).toBe(true)
    expect(noProxyMatches('.example.com', 'example.com', 1)).toBe(true)
    expect(noProxyMatches('example.com', 'badexample.com', 1)).toBe(false)
    expect(noProxyMatches('relay:7000', 'relay', 7000)).toBe(true)
    expect(noProxyMatches('relay:7000', 'relay', 7001)).toBe(false)
    expect(noProxyMatches('10.0.0.0/8, 192.168.1.5', '10.2.3.4', 1)).toBe(true)
    expect(noProxyMatches('10.0.0.0/8', '11.2.3.4', 1)).toBe(false)
    expect(noProxyMatches('::1', '::1', 1)).toBe(true)
  })
})

describe('the HTTP CONNECT exchange', () => {
  it('asks for host:port (IPv6 in brackets) with Basic credentials only when the URL has some', () => {
    expect(httpConnectRequest('relay.example.com', 7000, { user: '', password: null })).toBe('CONNECT relay.example.com:7000 HTTP/1.1\r\nHost: relay.example.com:7000\r\nUser-Agent: tunnel\r\n\r\n')
    const withUser = parseProxyUrl('http://alice:wonder@h:1', 'x')
    if ('problem' in withUser) throw new Error(withUser.problem)
    expect(httpConnectRequest('::1', 7000, withUser)).toContain(`CONNECT [::1]:7000 HTTP/1.1\r\n`)
    expect(httpConnectRequest('::1', 7000, withUser)).toContain(`Proxy-Authorization: Basic ${Buffer.from('alice:wonder').toString('base64')}\r\n`)
  })

  it('reads the status once the header is complete and refuses an answer that is not HTTP', () => {
    const answer = Buffer.from('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\nbody')
    expect(parseProxyAnswer(answer.subarray(0, 20))).toBeUndefined()
    expect(parseProxyAnswer(answer)).toEqual({ value: { status: 407, statusLine: 'HTTP/1.1 407 Proxy Authentication Required' }, used: answer.length - 4 })
    expect(() => parseProxyAnswer(Buffer.from('SSH-2.0-OpenSSH\r\n'))).toThrow(TunnelError)
  })
})

describe('the SOCKS5 messages (RFC 1928, RFC 1929)', () => {
  it('offers user/password only with credentials and sends the relay\'s name for the proxy to resolve', () => {
    expect([...socksGreeting(false)]).toEqual([5, 1, 0])
    expect([...socksGreeting(true)]).toEqual([5, 2, 0, 2])
    expect([...socksCredentials('u', 'pw')]).toEqual([1, 1, 0x75, 2, 0x70, 0x77])
    expect([...socksConnectRequest('127.0.0.1', 7000)]).toEqual([5, 1, 0, 1, 127, 0, 0, 1, 0x1b, 0x58])
    expect([...socksConnectRequest('ab', 80)]).toEqual([5, 1, 0, 3, 2, 0x61, 0x62, 0, 80])
    expect([...socksConnectRequest('::1', 1)].slice(3, 4)).toEqual([4])
    expect(socksConnectRequest('::1', 1)).toHaveLength(4 + 16 + 2)
  })

  it('reads replies whole (an address of any type) and refuses another version', () => {
    expect(parseMethodChoice(Buffer.from([5]))).toBeUndefined()
    expect(parseMethodChoice(Buffer.from([5, 2]))).toEqual({ value: 2, used: 2 })
    expect(() => parseMethodChoice(Buffer.from([4, 0]))).toThrow(TunnelError)
    const v4 = Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 80])
    expect(parseConnectReply(v4.subarray(0, 9))).toBeUndefined()
    expect(parseConnectReply(v4)).toEqual({ value: 0, used: 10 })
    expect(parseConnectReply(Buffer.from([5, 2, 0, 3, 1, 0x61, 0, 80]))).toEqual({ value: 2, used: 8 })
  })
})

describe('the WebSocket URL', () => {
  it('is frp\'s path on serverAddr:serverPort, without a default port and with IPv6 in brackets', () => {
    expect(websocketUrl(false, 'relay.example.com', 7000)).toBe('ws://relay.example.com:7000/~!frp')
    expect(websocketUrl(true, 'relay.example.com', 443)).toBe('wss://relay.example.com/~!frp')
    expect(websocketUrl(false, '::1', 80)).toBe('ws://[::1]/~!frp')
  })
})
