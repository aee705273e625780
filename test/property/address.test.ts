import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { formatHostPort, normalizeAddress, parseHost, parseHostPort, unbracket } from '../../shared/net/address.js'

const port = fc.integer({ min: 1, max: 65535 })
const host = fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain())

describe('host and host:port parsing', () => {
  test.prop([host, port])('round-trips whatever formatHostPort prints', (h, p) => {
    expect(parseHostPort(formatHostPort(h, p))).toEqual({ host: h, port: p })
  })

  test.prop([host])('accepts every IP and DNS name as a host, bracketed IPv6 too', (h) => {
    const r = parseHost(h)
    expect(r).not.toHaveProperty('error')
    if (h.includes(':')) expect(parseHost(`[${h}]`)).toEqual({ host: h, kind: 'ipv6' })
  })

  test.prop([host, port])('names a host that carries a port', (h, p) => {
    const r = parseHost(formatHostPort(h, p))
    if (h.includes(':')) expect(r).toHaveProperty('error') // [v6]:port
    else expect(r).toEqual({ error: expect.stringContaining(`includes a port (${p})`) })
  })

  test.prop([fc.string({ maxLength: 80 })])('never throws, whatever the text', (text) => {
    expect(() => { parseHost(text); parseHostPort(text) }).not.toThrow()
  })

  test.prop([fc.ipV4()])('normalises the IPv4-mapped form of a parsed bracketed host', (v4) => {
    const r = parseHost(`[::ffff:${v4}]`)
    expect('host' in r && normalizeAddress(r.host)).toBe(v4)
  })

  it('explains what is wrong', () => {
    expect(parseHost('')).toEqual({ error: 'the address is empty' })
    expect(parseHost('999.1.1.1')).toEqual({ error: '999.1.1.1 is not a valid IPv4 address' })
    expect(parseHost('a b')).toHaveProperty('error', expect.stringContaining('not a valid host name'))
    expect(parseHost('[relay]')).toHaveProperty('error', '[relay] has brackets but no IPv6 address inside')
    expect(parseHost('fe80::1%eth0')).toEqual({ host: 'fe80::1%eth0', kind: 'ipv6' })
    expect(parseHost(`${'a'.repeat(64)}.example`)).toHaveProperty('error')
    expect(parseHostPort('::1:80')).toHaveProperty('error', expect.stringContaining('brackets'))
    expect(parseHostPort('host')).toEqual({ error: 'no port' })
    expect(parseHostPort('host:0')).toEqual({ error: 'port 0 is outside 1-65535' })
    expect(parseHostPort('[::1]:')).toEqual({ error: 'port (empty) is not a number' })
    expect(unbracket('[::1]')).toBe('::1')
    expect(unbracket('::1')).toBe('::1')
  })
})
