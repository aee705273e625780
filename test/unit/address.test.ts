import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { formatHostPort, ipv6Bytes, normalizeAddress } from '../../shared/net/address.js'

describe('normalizeAddress', () => {
  it('turns every spelling of an IPv4-mapped IPv6 address into dotted IPv4', () => {
    for (const a of ['::ffff:1.2.3.4', '::FFFF:1.2.3.4', '::ffff:0102:0304', '0:0:0:0:0:ffff:1.2.3.4', '0000:0000:0000:0000:0000:ffff:0102:0304']) {
      expect(normalizeAddress(a)).toBe('1.2.3.4')
    }
  })

  it('keeps real IPv6 as compressed lower-case IPv6, with its zone id', () => {
    expect(normalizeAddress('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1')
    expect(normalizeAddress('::1')).toBe('::1')
    expect(normalizeAddress('fe80::1%eth0')).toBe('fe80::1%eth0')
    expect(normalizeAddress('::ffff:1:2')).toBe('0.1.0.2') // ::ffff:0001:0002 is mapped too
    expect(normalizeAddress('64:ff9b::1.2.3.4')).toBe('64:ff9b::102:304') // NAT64 is real IPv6
    expect(normalizeAddress('::fffe:1.2.3.4')).toBe('::fffe:102:304')
  })

  it('leaves IPv4 and host names alone', () => {
    expect(normalizeAddress('127.0.0.1')).toBe('127.0.0.1')
    expect(normalizeAddress('relay.example.net')).toBe('relay.example.net')
    expect(normalizeAddress('')).toBe('')
  })

  test.prop([fc.ipV4()])('maps back every IPv4 address', (v4) => {
    expect(normalizeAddress(`::ffff:${v4}`)).toBe(v4)
  })

  test.prop([fc.ipV6()])('parses every IPv6 literal to 16 bytes and is idempotent', (v6) => {
    expect(ipv6Bytes(v6)?.length).toBe(16)
    const once = normalizeAddress(v6)
    expect(normalizeAddress(once)).toBe(once)
  })
})

describe('formatHostPort', () => {
  it('brackets IPv6 only', () => {
    expect(formatHostPort('::1', 80)).toBe('[::1]:80')
    expect(formatHostPort('127.0.0.1', 80)).toBe('127.0.0.1:80')
    expect(formatHostPort('example.net', 80)).toBe('example.net:80')
  })
})
