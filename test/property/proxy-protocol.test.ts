import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { normalizeAddress } from '../../shared/net/address.js'
import { encodeProxyHeader, parseProxyHeader, ProxyHeaderError, V1_MAX_BYTES, V2_SIGNATURE, type ProxyProtocolVersion } from '../../shared/net/proxy-protocol.js'

const version = fc.constantFrom<ProxyProtocolVersion>('v1', 'v2')
const address = fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4().map((v4) => `::ffff:${v4}`))
const endpoint = fc.record({ address, port: fc.integer({ min: 0, max: 65535 }) })

function family (a: string, b: string): 'tcp4' | 'tcp6' {
  return !a.includes(':') && !b.includes(':') ? 'tcp4' : 'tcp6'
}

describe('PROXY protocol header', () => {
  test.prop([version, endpoint, endpoint, fc.uint8Array({ maxLength: 64 })])('round-trips normalised endpoints, the stream following untouched', (v, src, dst, data) => {
    const header = encodeProxyHeader(v, src, dst)
    if (v === 'v1') expect(header.length).toBeLessThanOrEqual(V1_MAX_BYTES)
    const buf = Buffer.concat([header, data])
    const parsed = parseProxyHeader(buf)
    const source = { address: normalizeAddress(src.address), port: src.port }
    const destination = { address: normalizeAddress(dst.address), port: dst.port }
    expect(parsed).toEqual({ version: v, family: family(source.address, destination.address), source, destination, length: header.length })
    expect(buf.subarray(parsed?.length)).toEqual(Buffer.from(data))
  })

  test.prop([endpoint, endpoint])('v2 for UDP round-trips as udp4/udp6 (SOCK_DGRAM), and v1 has no UDP form', (src, dst) => {
    const header = encodeProxyHeader('v2', src, dst, 'dgram')
    const source = { address: normalizeAddress(src.address), port: src.port }
    const destination = { address: normalizeAddress(dst.address), port: dst.port }
    const fam = family(source.address, destination.address) === 'tcp4' ? 'udp4' : 'udp6'
    expect(header[13]).toBe(fam === 'udp4' ? 0x12 : 0x22)
    expect(parseProxyHeader(header)).toEqual({ version: 'v2', family: fam, source, destination, length: header.length })
    expect(() => encodeProxyHeader('v1', src, dst, 'dgram')).toThrow(/v1 describes TCP connections only/)
  })

  test.prop([version, endpoint, endpoint])('asks for more bytes on every proper prefix', (v, src, dst) => {
    const header = encodeProxyHeader(v, src, dst)
    for (let n = 1; n < header.length; n++) expect(parseProxyHeader(header.subarray(0, n))).toBeUndefined()
  })

  it('writes v1 text and v2 binary as the spec shows them', () => {
    expect(encodeProxyHeader('v1', { address: '::ffff:127.0.0.1', port: 5000 }, { address: '127.0.0.1', port: 80 }).toString('latin1'))
      .toBe('PROXY TCP4 127.0.0.1 127.0.0.1 5000 80\r\n')
    expect(encodeProxyHeader('v1', { address: '::1', port: 5000 }, { address: '::', port: 80 }).toString('latin1'))
      .toBe('PROXY TCP6 ::1 :: 5000 80\r\n')
    // mixed families: TCP6, the IPv4 side mapped only inside the header
    expect(encodeProxyHeader('v1', { address: '10.0.0.1', port: 1 }, { address: '2001:db8::1', port: 2 }).toString('latin1'))
      .toBe('PROXY TCP6 ::ffff:10.0.0.1 2001:db8::1 1 2\r\n')
    expect(encodeProxyHeader('v1', { address: 'fe80::1%eth0', port: 1 }, { address: '::1', port: 2 }).toString('latin1'))
      .toBe('PROXY TCP6 fe80::1 ::1 1 2\r\n')
    const v2 = encodeProxyHeader('v2', { address: '127.0.0.1', port: 0x1234 }, { address: '10.0.0.2', port: 80 })
    expect(v2).toEqual(Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x11, 0, 12, 127, 0, 0, 1, 10, 0, 0, 2, 0x12, 0x34, 0, 80])]))
    const v26 = encodeProxyHeader('v2', { address: '::1', port: 1 }, { address: '::', port: 2 })
    expect(v26.subarray(12, 16)).toEqual(Buffer.from([0x21, 0x21, 0, 36]))
    expect(v26.length).toBe(52)
  })

  it('says UNKNOWN / AF_UNSPEC when an endpoint is not an address', () => {
    expect(encodeProxyHeader('v1', { address: '', port: 0 }, { address: '::1', port: 2 }).toString('latin1')).toBe('PROXY UNKNOWN\r\n')
    const v2 = encodeProxyHeader('v2', { address: '', port: 0 }, { address: '::1', port: 2 })
    expect(v2.subarray(12)).toEqual(Buffer.from([0x21, 0x00, 0, 0]))
    expect(parseProxyHeader(v2)).toEqual({ version: 'v2', family: 'unknown', length: 16 })
  })

  it('refuses what is not a header', () => {
    expect(() => parseProxyHeader(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow(ProxyHeaderError)
    expect(() => parseProxyHeader(Buffer.from('PROXY TCP4 ::1 ::1 1 2\r\n'))).toThrow(ProxyHeaderError)
    expect(() => parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4 1.2.3.4 1 65536\r\n'))).toThrow(ProxyHeaderError)
    expect(() => parseProxyHeader(Buffer.from('PROXY ' + 'x'.repeat(120)))).toThrow(ProxyHeaderError)
  })
})
