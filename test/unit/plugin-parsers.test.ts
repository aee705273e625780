// The pure parts of the client plugins: SOCKS5 and RFC 1929 messages, the HTTP CONNECT head,
// Basic credentials, static_file's path resolution, and the self-signed certificate.
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { CredentialCheck, MAX_AUTHORIZATION_CHARS, parseBasic } from '../../client/plugins/credentials.js'
import { closingResponse, parseConnectHead, startsConnect } from '../../client/plugins/http-proxy.js'
import { selfSignedCertificate } from '../../client/plugins/self-signed.js'
import { encodeReply, parseGreeting, parseRequest, parseUserPassword, Reply, replyForError } from '../../client/plugins/socks5-parse.js'
import { resolveInside } from '../../client/plugins/static-file.js'
import { Secret } from '../../shared/secret.js'

const b = (...bytes: number[]): Buffer => Buffer.from(bytes)

describe('SOCKS5 greeting', () => {
  it('asks for more until the method list is complete, then lists the methods', () => {
    expect(parseGreeting(b(5))).toEqual({ need: 2 })
    expect(parseGreeting(b(5, 2, 0))).toEqual({ need: 4 })
    expect(parseGreeting(b(5, 2, 0, 2, 99))).toEqual({ ok: { methods: [0, 2] }, used: 4 })
  })

  it('refuses another version (SOCKS4, HTTP) and a greeting that offers no method', () => {
    expect(parseGreeting(b(4, 1, 0))).toHaveProperty('error')
    expect(parseGreeting(Buffer.from('GET / HTTP/1.1'))).toHaveProperty('error')
    expect(parseGreeting(b(5, 0))).toHaveProperty('error')
  })
})

describe('RFC 1929 user/password', () => {
  it('reads user name and password as raw bytes', () => {
    const msg = Buffer.concat([b(1, 3), Buffer.from('abc'), b(2), Buffer.from('pw')])
    expect(parseUserPassword(msg.subarray(0, 4))).toEqual({ need: 6 })
    const r = parseUserPassword(msg)
    expect('ok' in r && r.ok.user.toString() === 'abc' && r.ok.password.toString() === 'pw' && r.used === msg.length).toBe(true)
  })

  it('refuses a wrong sub-negotiation version and empty fields', () => {
    expect(parseUserPassword(b(5, 1, 97, 1, 98))).toHaveProperty('error')
    expect(parseUserPassword(b(1, 0, 1, 98))).toHaveProperty('error')
    expect(parseUserPassword(b(1, 1, 97, 0))).toHaveProperty('error')
  })
})

describe('SOCKS5 request', () => {
  it('reads IPv4, IPv6 and domain targets', () => {
    expect(parseRequest(b(5, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90))).toEqual({ ok: { command: 1, host: '127.0.0.1', port: 8080, addressType: 1 }, used: 10 })
    const v6 = parseRequest(Buffer.concat([b(5, 1, 0, 4), Buffer.alloc(15), b(1, 0, 80)]))
    expect(v6).toEqual({ ok: { command: 1, host: '0:0:0:0:0:0:0:1', port: 80, addressType: 4 }, used: 22 })
    const name = Buffer.concat([b(5, 1, 0, 3, 9), Buffer.from('localhost'), b(0, 80)])
    expect(parseRequest(name)).toEqual({ ok: { command: 1, host: 'localhost', port: 80, addressType: 3 }, used: name.length })
    expect(parseRequest(name.subarray(0, 8))).toEqual({ need: name.length })
  })

  it('answers BIND and UDP ASSOCIATE with "command not supported", an unknown address type with its code', () => {
    expect(parseRequest(b(5, 2, 0, 1, 127, 0, 0, 1, 0, 80))).toMatchObject({ reply: Reply.COMMAND_NOT_SUPPORTED })
    expect(parseRequest(b(5, 3, 0, 1, 127, 0, 0, 1, 0, 80))).toMatchObject({ reply: Reply.COMMAND_NOT_SUPPORTED })
    expect(parseRequest(b(5, 1, 0, 9, 1, 2, 3))).toMatchObject({ reply: Reply.ADDRESS_TYPE_NOT_SUPPORTED })
  })

  it('refuses an empty domain, a domain with characters no host name has, and port 0', () => {
    expect(parseRequest(b(5, 1, 0, 3, 0, 0, 80))).toHaveProperty('error')
    expect(parseRequest(Buffer.concat([b(5, 1, 0, 3, 5), Buffer.from('a b/c'), b(0, 80)]))).toHaveProperty('error')
    expect(parseRequest(b(5, 1, 0, 1, 127, 0, 0, 1, 0, 0))).toHaveProperty('error')
  })

  it('encodes replies with the bound address, IPv4 or IPv6', () => {
    expect([...encodeReply(Reply.SUCCEEDED, { address: '127.0.0.1', port: 443 })]).toEqual([5, 0, 0, 1, 127, 0, 0, 1, 1, 187])
    const v6 = encodeReply(Reply.SUCCEEDED, { address: '::1', port: 1 })
    expect(v6.length).toBe(22)
    expect(v6[3]).toBe(4)
    expect(v6[19]).toBe(1)
    expect([...encodeReply(Reply.CONNECTION_REFUSED)]).toEqual([5, 5, 0, 1, 0, 0, 0, 0, 0, 0])
  })

  it('maps connection errors to RFC 1928 reply codes', () => {
    const err = (code: string): Error => Object.assign(new Error(code), { code })
    expect(replyForError(err('ECONNREFUSED'))).toBe(Reply.CONNECTION_REFUSED)
    expect(replyForError(err('ENETUNREACH'))).toBe(Reply.NETWORK_UNREACHABLE)
    expect(replyForError(err('ENOTFOUND'))).toBe(Reply.HOST_UNREACHABLE)
    expect(replyForError(err('EWHATEVER'))).toBe(Reply.GENERAL_FAILURE)
  })

  it('never throws on random bytes', () => {
    for (let i = 0; i < 2000; i++) {
      const junk = Buffer.from(Array.from({ length: i % 40 }, (_, j) => (i * 31 + j * 7) & 0xff))
      expect(() => { parseGreeting(junk); parseUserPassword(junk); parseRequest(junk) }).not.toThrow()
    }
  })
})

describe('HTTP CONNECT head', () => {
  it('tells CONNECT from other methods after the first bytes', () => {
    expect(startsConnect(Buffer.from('CON'))).toBeUndefined()
    expect(startsConnect(Buffer.from('connect '))).toBe(true)
    expect(startsConnect(Buffer.from('GET http'))).toBe(false)
  })

  it('reads the target and Proxy-Authorization once the blank line arrives', () => {
    const head = 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nProxy-Authorization: Basic dTpw\r\n\r\n'
    expect(parseConnectHead(Buffer.from(head.slice(0, 40)))).toEqual({ need: true })
    expect(parseConnectHead(Buffer.from(head + 'early data'))).toEqual({ ok: { authority: 'example.com:443', host: 'example.com', port: 443, authorization: 'Basic dTpw', length: head.length } })
    expect(parseConnectHead(Buffer.from('CONNECT [::1]:22 HTTP/1.1\r\n\r\n'))).toMatchObject({ ok: { host: '::1', port: 22 } })
  })

  it('refuses an oversized head with 431 and a malformed one with 400', () => {
    const big = Buffer.from('CONNECT a:1 HTTP/1.1\r\nX: ' + 'x'.repeat(20_000))
    expect(parseConnectHead(big)).toMatchObject({ status: 431 })
    expect(parseConnectHead(Buffer.from('CONNECT a:1 HTTP/1.1\r\nX: ' + 'x'.repeat(20_000) + '\r\n\r\n'))).toMatchObject({ status: 431 })
    expect(parseConnectHead(Buffer.from('CONNECT nohost HTTP/1.1\r\n\r\n'))).toMatchObject({ status: 400 })
    expect(parseConnectHead(Buffer.from('CONNECT a:99999 HTTP/1.1\r\n\r\n'))).toMatchObject({ status: 400 })
    expect(parseConnectHead(Buffer.from('CONNECT a:1 HTTP/2\r\n\r\n'))).toMatchObject({ status: 400 })
    expect(parseConnectHead(Buffer.from('CONNECT a:1 HTTP/1.1\r\nno colon here\r\n\r\n'))).toMatchObject({ status: 400 })
  })

  it('writes a closing 407 with a Basic challenge', () => {
    const text = closingResponse(407, 'no').toString()
    expect(text).toMatch(/^HTTP\/1\.1 407 Proxy Authentication Required\r\n/)
    expect(text).toContain('Proxy-Authenticate: Basic')
    expect(text).toContain('Connection: close')
  })
})

describe('credentials', () => {
  const check = new CredentialCheck({ user: 'u', password: new Secret(Buffer.from('p@ss:word')) })
  const basic = (s: string): string => `Basic ${Buffer.from(s).toString('base64')}`

  it('accepts exactly the configured user and password (the password may hold a colon)', () => {
    expect(check.matchesBasic(basic('u:p@ss:word'))).toBe(true)
    expect(check.matches(Buffer.from('u'), Buffer.from('p@ss:word'))).toBe(true)
  })

  it('refuses a wrong or missing user or password, other schemes, and oversized headers', () => {
    expect(check.matchesBasic(basic('u:p@ss'))).toBe(false)
    expect(check.matchesBasic(basic('x:p@ss:word'))).toBe(false)
    expect(check.matchesBasic(basic('u'))).toBe(false)
    expect(check.matchesBasic(undefined)).toBe(false)
    expect(check.matchesBasic('Bearer abc')).toBe(false)
    expect(parseBasic(`Basic ${'A'.repeat(MAX_AUTHORIZATION_CHARS)}`)).toBeUndefined()
    expect(check.matches('u', '')).toBe(false)
  })

  it('never shows the credentials when logged', () => {
    expect(JSON.stringify({ check })).not.toContain('p@ss')
  })
})

describe('static_file path resolution', () => {
  const top = mkdtempSync(join(tmpdir(), 'tunnel-static-'))
  const root = join(top, 'www')
  mkdirSync(join(root, 'sub'), { recursive: true })
  writeFileSync(join(root, 'a.txt'), 'a')
  writeFileSync(join(root, '.env'), 'secret')
  writeFileSync(join(top, 'outside.txt'), 'outside')
  symlinkSync(join(top, 'outside.txt'), join(root, 'link-out'))
  symlinkSync(top, join(root, 'dir-out'))
  symlinkSync('a.txt', join(root, 'link-in'))
  afterAll(() => { rmSync(top, { recursive: true, force: true }) })

  it('finds files and folders inside the folder, symlinks that stay inside too', async () => {
    expect(await resolveInside(root, 'a.txt')).toMatchObject({ isDirectory: false })
    expect(await resolveInside(root, 'sub')).toMatchObject({ isDirectory: true })
    expect(await resolveInside(root, '')).toMatchObject({ isDirectory: true })
    expect(await resolveInside(root, 'link-in')).toMatchObject({ isDirectory: false })
    expect(await resolveInside(root, 'a%2Etxt')).toMatchObject({ isDirectory: false })
  })

  it('refuses .. segments (also percent-encoded) with 403', async () => {
    expect(await resolveInside(root, '../outside.txt')).toEqual({ status: 403 })
    expect(await resolveInside(root, '%2e%2e/outside.txt')).toEqual({ status: 403 })
    expect(await resolveInside(root, 'sub/..%2F..%2Foutside.txt')).toEqual({ status: 403 })
  })

  it('answers 404 for symlinks that lead out of the folder, dotfiles and missing files', async () => {
    expect(await resolveInside(root, 'link-out')).toEqual({ status: 404 })
    expect(await resolveInside(root, 'dir-out/outside.txt')).toEqual({ status: 404 })
    expect(await resolveInside(root, '.env')).toEqual({ status: 404 })
    expect(await resolveInside(root, 'nope.txt')).toEqual({ status: 404 })
  })

  it('answers 400 for a bad percent-encoding, a NUL byte or a backslash', async () => {
    expect(await resolveInside(root, '%E0%A4%A')).toEqual({ status: 400 })
    expect(await resolveInside(root, 'a.txt%00')).toEqual({ status: 400 })
    expect(await resolveInside(root, '..%5Coutside.txt')).toEqual({ status: 400 })
  })
})

describe('self-signed certificate', () => {
  it('is a valid X.509 certificate for the given names, signed by its own key', () => {
    const made = selfSignedCertificate(['files.example.com', '*.example.org', '*'])
    const x = new X509Certificate(made.cert)
    expect(x.verify(x.publicKey)).toBe(true)
    expect(x.checkPrivateKey(createPrivateKey(made.key))).toBe(true)
    expect(x.checkHost('files.example.com')).toBe('files.example.com')
    expect(x.checkHost('a.example.org')).toBe('*.example.org')
    expect(x.subjectAltName).not.toContain('DNS:*,')
  })

  it('names localhost when the proxy has no domains', () => {
    expect(new X509Certificate(selfSignedCertificate([]).cert).checkHost('localhost')).toBe('localhost')
  })
})
