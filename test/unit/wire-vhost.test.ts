// http/https proxy registrations on the wire: shapes and sizes checked before the relay looks
// at the values; a malformed one is a protocol error like any malformed control message.
import { describe, expect, it, afterEach } from 'vitest'
import { Relay } from '../../server/relay.js'
import { parseServerConfig } from '../../shared/config/index.js'
import { silentLogger } from '../../shared/log.js'
import { httpSpecSchema, httpsSpecSchema, VHOST_LIMITS } from '../../shared/wire/proxy-spec.js'
import { closeServices, holdPort, probePort } from '../helpers/services.js'

afterEach(async () => { await closeServices() })

const check = (proxy: Record<string, unknown>): unknown => (proxy.type === 'https' ? httpsSpecSchema : httpSpecSchema).parse(proxy)

describe('vhost proxy specs on the wire', () => {
  it('parses http and https specs, leaving absent optional fields absent', () => {
    expect(check({ name: 'w', type: 'http', customDomains: ['a.test'], locations: ['/'], httpUser: 'u', httpPassword: 'p', requestHeaders: { A: 'b' } }))
      .toEqual({ name: 'w', type: 'http', customDomains: ['a.test'], locations: ['/'], httpUser: 'u', httpPassword: 'p', requestHeaders: { A: 'b' } })
    expect(check({ name: 's', type: 'https', customDomains: [], subdomain: 'x', allowSources: ['10.0.0.0/8'] }))
      .toEqual({ name: 's', type: 'https', customDomains: [], subdomain: 'x', allowSources: ['10.0.0.0/8'] })
  })

  it('refuses wrong shapes and oversized lists', () => {
    const bad: Array<Record<string, unknown>> = [
      { name: 'w', type: 'http', customDomains: 'a.test', locations: [] },
      { name: 'w', type: 'http', customDomains: [1], locations: [] },
      { name: 'w', type: 'http', customDomains: Array(VHOST_LIMITS.domains + 1).fill('a.test'), locations: [] },
      { name: 'w', type: 'http', customDomains: ['x'.repeat(VHOST_LIMITS.domainChars + 1)], locations: [] },
      { name: 'w', type: 'http', customDomains: [], locations: ['/'.repeat(VHOST_LIMITS.locationChars + 1)] },
      { name: 'w', type: 'http', customDomains: [], locations: [], requestHeaders: ['a'] },
      { name: 'w', type: 'http', customDomains: [], locations: [], responseHeaders: { a: 'x'.repeat(VHOST_LIMITS.headerValueChars + 1) } },
      { name: 'w', type: 'http', customDomains: [], locations: [], httpPassword: 5 },
      { name: 'w', type: 'http', customDomains: [], locations: [], requestHeaders: Object.fromEntries(Array.from({ length: VHOST_LIMITS.headers + 1 }, (_, i) => [`h${i}`, 'v'])) },
    ]
    for (const p of bad) expect(() => check(p), JSON.stringify(p).slice(0, 80)).toThrow()
  })
})

describe('relay start with vhost ports', () => {
  it('fails with TUN_PORT_IN_USE when a vhost port is taken, and leaves its control port closed', async () => {
    const held = await holdPort()
    const { config } = parseServerConfig(`bindAddr: 127.0.0.1\nbindPort: 0\nvhostHTTPPort: ${held.port}\n`, 'frps.yml', {})
    const relay = new Relay(config, silentLogger())
    await expect(relay.start()).rejects.toMatchObject({ code: 'TUN_PORT_IN_USE', message: expect.stringContaining(String(held.port)) })
    const port = relay.address?.port ?? 0
    expect(await probePort(port)).toBe('refused')
    expect(relay.vhostStats).toEqual({ http: expect.objectContaining({ requests: 0 }), https: expect.objectContaining({ connections: 0 }) })
    relay.destroy()
  })
})
