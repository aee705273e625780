// Issue 17: docs/config.md said transport.proxyProtocolVersion is refused on UDP proxies ("PROXY
// v2 for UDP datagrams is not implemented"), while its own table and the README said v2 works
// there. The code does v2 on udp: a PROXY v2 header in front of every datagram to the service;
// v1 (a TCP text line) is refused on udp. This test holds the code to that, end to end, and keeps
// the three documents saying the same.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parseClientConfig } from '../../shared/config/index.js'
import { clientConfig, closeInProcess, startClientInProcess, startRelayInProcess } from '../helpers/in-process.js'
import { closeUdp, startUdpEcho, udpVisitor } from '../helpers/udp.js'

const ROOT = join(import.meta.dirname, '..', '..')
/** The 12 bytes every PROXY v2 header starts with. */
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a])

afterEach(async () => {
  await closeInProcess()
  await closeUdp()
})

describe('issue 17: proxyProtocolVersion on udp proxies, in the code and the docs', () => {
  it('loads v2 on a udp proxy and refuses v1 there, at its line', () => {
    const ok = parseClientConfig('proxies:\n  - name: dns\n    type: udp\n    localPort: 53\n    transport:\n      proxyProtocolVersion: v2\n', 'frpc.yml', {})
    expect(ok.config.proxies[0]).toMatchObject({ type: 'udp', proxyProtocolVersion: 'v2' })
    expect(() => parseClientConfig('proxies:\n  - name: dns\n    type: udp\n    localPort: 53\n    transport:\n      proxyProtocolVersion: v1\n', 'frpc.yml', {}))
      .toThrow(/^frpc\.yml:6:29 proxies\[0\]\.transport\.proxyProtocolVersion: PROXY protocol v1 describes TCP connections only: use v2 on a udp proxy/)
  })

  it('puts a PROXY v2 header in front of every datagram the service gets', async () => {
    const echo = await startUdpEcho() // echoes what it got, header included
    const { port } = await startRelayInProcess()
    const running = await startClientInProcess(clientConfig(port, `proxies:\n  - { name: u, type: udp, localPort: ${echo.port}, transport: { proxyProtocolVersion: v2 } }\n`))
    const result = await running.result('u')
    const visitor = await udpVisitor(result.remotePort ?? 0)
    visitor.send('one')
    await visitor.waitFor(1)
    visitor.send('two')
    await visitor.waitFor(2)
    for (const [i, d] of visitor.received.entries()) {
      expect(d.subarray(0, 12).equals(V2_SIGNATURE), `datagram ${i}`).toBe(true)
      expect(d.subarray(-3).toString()).toBe(i === 0 ? 'one' : 'two')
    }
  })

  it('docs/config.md, its key table and the README agree: v2 works on udp, on every datagram, v1 is refused', () => {
    const config = readFileSync(join(ROOT, 'docs', 'config.md'), 'utf8')
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    expect(config).not.toMatch(/refused on them|not implemented/)
    const paragraph = config.slice(config.indexOf('**PROXY protocol.**'), config.indexOf('**Bandwidth limits.**'))
    expect(paragraph).toMatch(/udp/)
    expect(paragraph).toMatch(/every datagram/)
    expect(paragraph).toMatch(/v1.*refused/s)
    const row = config.split('\n').find((l) => l.startsWith('| `transport.proxyProtocolVersion`')) ?? ''
    expect(row).toMatch(/on `udp`( and `sudp`)? only `v2`, put in front of every datagram/)
    expect(readme).toMatch(/v2 also on udp, a header in\s+front of every datagram/)
  })
})
