// frpc.yml's plugin blocks: frp's keys per plugin type, errors at their file:line:col, no
// localPort needed with a plugin, certificates tried at load, warnings for open proxies and
// unused keys, secrets never in messages, and the completed config the client runs.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../shared/errors.js'
import { parseClientConfig, type ClientConfig } from '../../shared/config/index.js'
import { findTool } from '../helpers/system-tools.js'

const head = 'serverAddr: 127.0.0.1\nauth: { token: x }\nproxies:\n'
const load = (proxies: string, file = 'frpc.yml'): ReturnType<typeof parseClientConfig> => parseClientConfig(head + proxies, file, {})
function issues (proxies: string, file = 'frpc.yml'): string[] {
  try {
    load(proxies, file)
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.location.line}:${i.location.col} ${i.location.path}: ${i.message} (${i.code})`)
    throw err
  }
  return []
}
const only = (c: ClientConfig): ClientConfig['proxies'][number] => {
  const p = c.proxies[0]
  if (p === undefined) throw new Error('no proxy')
  return p
}

describe('plugin config', () => {
  it('a proxy with a plugin needs no localPort; without one, localPort is still required', () => {
    const { config } = load('  - name: s\n    type: tcp\n    remotePort: 6000\n    plugin: { type: socks5, username: u, password: p }\n')
    const p = only(config)
    expect(p.type === 'tcp' && p.plugin).toMatchObject({ type: 'socks5', credentials: { user: 'u' } })
    expect(issues('  - name: a\n    type: tcp\n')).toEqual(['4:5 proxies[0].localPort: is missing: add the port of the local service (or a plugin, which takes the connections instead) (TUN_CONFIG_INVALID)'])
  })

  it('reads frp\'s TOML form ([proxies.plugin] tables) the same way', () => {
    const toml = 'serverAddr = "127.0.0.1"\n[[proxies]]\nname = "h"\ntype = "tcp"\nremotePort = 6004\n[proxies.plugin]\ntype = "http_proxy"\nhttpUser = "abc"\nhttpPassword = "abc"\n'
    const p = only(parseClientConfig(toml, 'frpc.toml', {}).config)
    expect(p.type === 'tcp' && p.plugin?.type).toBe('http_proxy')
  })

  it('names an unknown plugin type and a typo at the type\'s line and column, and skips frp\'s virtual_net with a warning there', () => {
    expect(issues('  - name: a\n    type: tcp\n    plugin:\n      type: sock5\n')).toEqual(['7:13 proxies[0].plugin.type: "sock5" is not a plugin type; did you mean socks5? (TUN_CONFIG_INVALID)'])
    const vnet = load('  - name: a\n    type: stcp\n    plugin:\n      type: virtual_net\n  - { name: b, type: tcp, localPort: 1 }\n')
    expect(vnet.config.proxies.map((p) => p.name)).toEqual(['b'])
    expect(vnet.warnings.map((w) => `${w.location.line}:${w.location.col} ${w.message}`)).toContain('7:13 proxies[0].plugin virtual_net is frp\'s experimental virtual network: not supported, this proxy is not started (the rest of the file runs)')
    expect(issues('  - name: a\n    type: tcp\n    plugin: { username: u }\n')[0]).toContain('proxies[0].plugin.type: is missing: a plugin needs a type')
  })

  it('suggests keys of the plugin\'s own type for an unknown key', () => {
    expect(issues('  - name: a\n    type: tcp\n    plugin:\n      type: socks5\n      usernme: u\n')).toEqual(['8:7 proxies[0].plugin.usernme: unknown key; did you mean username? (TUN_CONFIG_UNKNOWN_KEY)'])
    expect(issues('  - name: a\n    type: tcp\n    plugin:\n      type: http_proxy\n      username: u\n')[0]).toContain('valid keys here: type, httpUser, httpPassword')
  })

  it('requires each plugin\'s own keys and checks localAddr, stripPrefix and header names', () => {
    expect(issues('  - name: a\n    type: tcp\n    plugin: { type: static_file }\n')[0]).toContain('proxies[0].plugin.localPath: is missing: add the folder to serve')
    expect(issues('  - name: a\n    type: tcp\n    plugin: { type: unix_domain_socket }\n')[0]).toContain('plugin.unixPath: is missing')
    expect(issues('  - name: a\n    type: tcp\n    plugin: { type: http2http, localAddr: "127.0.0.1" }\n')[0]).toContain('plugin.localAddr: must be host:port')
    expect(issues('  - name: a\n    type: tcp\n    plugin: { type: static_file, localPath: ., stripPrefix: "../x" }\n')[0]).toContain('plugin.stripPrefix: must be a path prefix')
    expect(issues('  - name: a\n    type: tcp\n    plugin: { type: http2http, localAddr: "127.0.0.1:80", requestHeaders: { set: { "bad name": x } } }\n')[0]).toContain('is not a header name')
    expect(issues(`  - name: a\n    type: tcp\n    plugin: { type: socks5, username: u, password: "${'x'.repeat(256)}" }\n`)[0]).toContain('at most 255 bytes')
  })

  it('refuses a plugin on a udp proxy', () => {
    expect(issues('  - name: a\n    type: udp\n    plugin: { type: socks5 }\n')).toEqual(['6:5 proxies[0].plugin: plugins take TCP connections: a udp proxy cannot have one; remove plugin, or use type tcp (TUN_CONFIG_INVALID)'])
  })

  it('reads crtPath/keyPath at load: missing files and one without the other are errors at their line', () => {
    expect(issues('  - name: a\n    type: tcp\n    plugin: { type: tls2raw, localAddr: "127.0.0.1:1", crtPath: nope.crt }\n')[0]).toContain('set crtPath and keyPath together')
    const found = issues('  - name: a\n    type: tcp\n    plugin:\n      type: https2http\n      localAddr: "127.0.0.1:1"\n      crtPath: /nonexistent/a.crt\n      keyPath: /nonexistent/a.key\n')
    expect(found).toEqual([
      '9:16 proxies[0].plugin.crtPath: /nonexistent/a.crt does not exist (TUN_CONFIG_INVALID)',
      '10:16 proxies[0].plugin.keyPath: /nonexistent/a.key does not exist (TUN_CONFIG_INVALID)',
    ])
  })

  it.skipIf(findTool('openssl') === undefined)('loads a certificate and key relative to the config file, and refuses a key of another certificate', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tunnel-plugin-cert-'))
    for (const n of ['a', 'b']) {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, `${n}.key`), '-out', join(dir, `${n}.crt`), '-days', '1', '-subj', `/CN=${n}.example.test`], { stdio: 'ignore' })
    }
    const file = join(dir, 'frpc.yml')
    const { config } = load('  - name: a\n    type: tcp\n    plugin: { type: tls2raw, localAddr: "127.0.0.1:1", crtPath: a.crt, keyPath: ./a.key }\n', file)
    const p = only(config)
    expect(p.type === 'tcp' && p.plugin?.type === 'tls2raw' && p.plugin.certificate?.crtPath).toBe(join(dir, 'a.crt'))
    expect(JSON.stringify(config)).not.toContain('PRIVATE KEY')
    expect(issues('  - name: a\n    type: tcp\n    plugin: { type: tls2raw, localAddr: "127.0.0.1:1", crtPath: a.crt, keyPath: b.key }\n', file)[0]).toContain('are not a usable certificate and private key')
  })

  it('warns about an open http_proxy or socks5 plugin unless allowSources limits it, and about unused keys', () => {
    const messages = (proxies: string): string[] => load(proxies).warnings.map((w) => w.message)
    expect(messages('  - name: a\n    type: tcp\n    plugin: { type: socks5 }\n').join()).toContain('the socks5 plugin has no credentials: anyone who reaches the public port')
    expect(messages('  - name: a\n    type: tcp\n    plugin: { type: http_proxy }\n').join()).toContain('set httpUser and httpPassword')
    expect(messages('  - name: a\n    type: tcp\n    allowSources: [10.0.0.0/8]\n    plugin: { type: socks5 }\n').join()).not.toContain('no credentials')
    const unused = messages('  - name: a\n    type: tcp\n    localPort: 22\n    transport: { proxyProtocolVersion: v2 }\n    plugin: { type: socks5, username: u, password: p }\n').join('\n')
    expect(unused).toContain('localPort is not used: the socks5 plugin takes the connections')
    expect(unused).toContain('the socks5 plugin sends no PROXY header')
  })

  it('never shows a plugin password in errors or warnings', () => {
    const text = issues('  - name: a\n    type: tcp\n    plugin: { type: socks5, username: u, password: hunter2secret, bogus: 1 }\n').join('\n')
    expect(text).toContain('bogus')
    expect(text).not.toContain('hunter2secret')
    const { config } = load('  - name: a\n    type: tcp\n    plugin: { type: static_file, localPath: ., httpUser: u, httpPassword: hunter2secret }\n')
    expect(JSON.stringify(config)).not.toContain('hunter2secret')
  })

  it('resolves paths against the config file\'s folder and strips slashes around stripPrefix', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tunnel-plugin-path-'))
    writeFileSync(join(dir, 'x'), '')
    const { config } = load('  - name: a\n    type: tcp\n    plugin: { type: static_file, localPath: ./www, stripPrefix: /static/ }\n  - name: b\n    type: tcp\n    plugin: { type: unix_domain_socket, unixPath: run/s.sock }\n', join(dir, 'frpc.yml'))
    const [a, b] = config.proxies
    expect(a?.type === 'tcp' && a.plugin).toEqual({ type: 'static_file', localPath: join(dir, 'www'), stripPrefix: 'static', credentials: null })
    expect(b?.type === 'tcp' && b.plugin).toEqual({ type: 'unix_domain_socket', unixPath: join(dir, 'run', 's.sock') })
  })
})
