// Issue 17 (client plugins): a reload that changed only a password kept the old one. Secrets
// hold their bytes in a private field, which isDeepStrictEqual does not see, so the old and new
// proxy looked equal and nothing restarted. Plugin credentials and an http proxy's httpPassword
// must count as changes; the same password must not.
import { describe, expect, it } from 'vitest'
import { diffProxies } from '../../client/index.js'
import { parseClientConfig } from '../../shared/config/index.js'

const proxies = (yaml: string): ReturnType<typeof parseClientConfig>['config']['proxies'] =>
  parseClientConfig(`serverAddr: 127.0.0.1\nauth: { token: x }\nproxies:\n${yaml}`, 'frpc.yml', {}).config.proxies

describe('issue 17: a changed password is a changed proxy on reload', () => {
  it('a socks5 plugin whose password changed restarts', () => {
    const before = proxies('  - { name: s, type: tcp, remotePort: 6000, plugin: { type: socks5, username: u, password: one } }\n')
    const after = proxies('  - { name: s, type: tcp, remotePort: 6000, plugin: { type: socks5, username: u, password: two } }\n')
    const diff = diffProxies(before, after)
    expect(diff.changed.map((c) => [c.after.name, c.relay])).toEqual([['s', false]])
  })

  it('an http proxy whose httpPassword changed restarts on the relay too', () => {
    const yaml = (pw: string): string => `  - { name: w, type: http, localPort: 80, customDomains: [a.example.com], httpUser: u, httpPassword: ${pw} }\n`
    const diff = diffProxies(proxies(yaml('one')), proxies(yaml('two')))
    expect(diff.changed.map((c) => [c.after.name, c.relay])).toEqual([['w', true]])
  })

  it('the same password is no change', () => {
    const yaml = '  - { name: s, type: tcp, remotePort: 6000, plugin: { type: http_proxy, httpUser: u, httpPassword: same } }\n'
    expect(diffProxies(proxies(yaml), proxies(yaml)).unchanged.map((p) => p.name)).toEqual(['s'])
  })

  it('a changed plugin block restarts only the client side (the public port stays)', () => {
    const before = proxies('  - { name: s, type: tcp, remotePort: 6000, plugin: { type: socks5 } }\n')
    const after = proxies('  - { name: s, type: tcp, remotePort: 6000, plugin: { type: http_proxy } }\n')
    expect(diffProxies(before, after).changed.map((c) => [c.after.name, c.relay])).toEqual([['s', false]])
  })
})
