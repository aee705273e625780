import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { ProtocolError, TunnelError } from '../../shared/errors.js'
import { normalizeAddress } from '../../shared/net/address.js'
import { decodeFlowOpen, encodeFlowOpen } from '../../shared/wire/dgram.js'
import { MAX_FLOW_OPEN_BYTES } from '../../shared/wire/frame.js'

const proxyName = fc.string({ minLength: 1, maxLength: 64, unit: 'grapheme-ascii' })

describe('udp flow-open block', () => {
  test.prop([proxyName, fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: 0, max: 65535 }), fc.uint8Array({ maxLength: 200 })])('round-trips, the datagram following it untouched', (proxy, address, port, data) => {
    const block = encodeFlowOpen({ proxy, visitor: { address, port } })
    expect(block.length).toBeLessThanOrEqual(MAX_FLOW_OPEN_BYTES)
    const payload = Buffer.concat([block, data])
    const { open, dataOffset } = decodeFlowOpen(payload)
    expect(open).toEqual({ proxy, visitor: { address: normalizeAddress(address), port } })
    expect(payload.subarray(dataOffset)).toEqual(Buffer.from(data))
  })

  it('sends IPv4-mapped visitors as IPv4 and drops zone ids', () => {
    const mapped = encodeFlowOpen({ proxy: 'dns', visitor: { address: '::ffff:10.1.2.3', port: 53 } })
    expect(mapped.length).toBe(1 + 3 + 1 + 4 + 2)
    expect(decodeFlowOpen(mapped).open.visitor).toEqual({ address: '10.1.2.3', port: 53 })
    expect(decodeFlowOpen(encodeFlowOpen({ proxy: 'x', visitor: { address: 'fe80::1%eth0', port: 1 } })).open.visitor.address).toBe('fe80::1')
  })

  it('carries the longest name (255 bytes of UTF-8) and refuses longer ones locally', () => {
    const long = 'é'.repeat(127) + 'a' // 255 bytes
    expect(decodeFlowOpen(encodeFlowOpen({ proxy: long, visitor: { address: '::1', port: 9 } })).open.proxy).toBe(long)
    expect(() => encodeFlowOpen({ proxy: long + 'b', visitor: { address: '::1', port: 9 } })).toThrow(TunnelError)
    expect(() => encodeFlowOpen({ proxy: 'p', visitor: { address: 'not-an-ip', port: 9 } })).toThrow(TunnelError)
  })

  it('rejects truncated blocks and unknown families as protocol errors', () => {
    const good = encodeFlowOpen({ proxy: 'abc', visitor: { address: '2001:db8::1', port: 443 } })
    for (let cut = 0; cut < good.length; cut++) {
      expect(() => decodeFlowOpen(good.subarray(0, cut))).toThrow(ProtocolError)
    }
    const bad = Buffer.from(good)
    bad[4] = 5
    expect(() => decodeFlowOpen(bad)).toThrow(/family 5/)
  })

  test.prop([fc.uint8Array({ maxLength: 400 })])('random bytes never throw anything but ProtocolError', (bytes) => {
    try {
      const { dataOffset } = decodeFlowOpen(Buffer.from(bytes))
      expect(dataOffset).toBeLessThanOrEqual(bytes.length)
    } catch (err) {
      expect(err).toBeInstanceOf(ProtocolError)
    }
  })
})
