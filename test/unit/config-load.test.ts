import { describe, it, expect } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError } from '../../shared/errors.js'
import {
  CLIENT_DEFAULTS,
  defaultClientID,
  detectConfigKind,
  loadClientConfig,
  loadServerConfig,
  parseClientConfig,
  parseServerConfig,
  SERVER_DEFAULTS,
} from '../../shared/config/index.js'
import { didYouMean, editDistance } from '../../shared/config/validate.js'

const ROOT = join(import.meta.dirname, '..', '..')

function issuesOf (fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('expected a ConfigError')
}

const client = (text: string, env: Record<string, string> = {}): ReturnType<typeof parseClientConfig> => parseClientConfig(text, 'frpc.yml', env)
const server = (text: string, env: Record<string, string> = {}): ReturnType<typeof parseServerConfig> => parseServerConfig(text, 'frps.yml', env)
const at = (e: ConfigError, i = 0): string => `${e.issues[i]?.location.line}:${e.issues[i]?.location.col}`

describe('defaults', () => {
  it('an empty server file gives every default, with proxyBindAddr = bindAddr', () => {
    const { config } = server('')
    expect(config).toEqual({
      source: 'frps.yml',
      bindAddr: SERVER_DEFAULTS.bindAddr,
      bindPort: SERVER_DEFAULTS.bindPort,
      proxyBindAddr: SERVER_DEFAULTS.bindAddr,
      auth: { method: 'token', token: '', privateKey: null, clientKeys: [] },
      allowPorts: [],
      maxPortsPerClient: 0,
      ownershipGrace: SERVER_DEFAULTS.ownershipGrace,
      maxProxiesPerClient: 1024,
      maxVhostProxiesPerClient: 256,
      maxDomainsPerClient: 256,
      maxLocationsPerClient: 1024,
      maxProxiesPerUser: 4096,
      maxVhostProxiesPerUser: 1024,
      maxDomainsPerUser: 1024,
      maxLocationsPerUser: 4096,
      maxConnections: 0,
      maxConnectionsPerSource: 4096,
      maxVisitorsPerSource: 1024,
      maxFlowsPerSource: 1024,
      maxBufferedBytesPerClient: 16 * 1024 * 1024,
      stunBindPort: null,
      stunAltPort: 0,
      vhostHTTPPort: 0,
      vhostHTTPSPort: 0,
      vhostHTTPTimeout: 60,
      subDomainHost: '',
      custom404Page: null,
      transport: {
        heartbeatTimeout: SERVER_DEFAULTS.heartbeatTimeout,
        handshakeTimeout: 10,
        maxClockSkew: 60,
        insecurePlaintext: false,
        tls: { force: false, certFile: null, keyFile: null, trustedCaFile: null },
        websocket: { enable: true, trustedProxies: [], bindPort: 0 },
        maxStreams: 16_384,
      },
      log: { level: 'info' },
      webServer: null,
      enablePrometheus: false,
      tcpmuxHTTPConnectPort: 0,
      tcpmuxPassthrough: false,
      httpPlugins: [],
      fleet: null,
    })
  })

  it('proxyBindAddr follows a configured bindAddr unless set itself', () => {
    expect(server('bindAddr: 10.0.0.1').config.proxyBindAddr).toBe('10.0.0.1')
    expect(server('bindAddr: 10.0.0.1\nproxyBindAddr: 0.0.0.0').config.proxyBindAddr).toBe('0.0.0.0')
  })

  it('takes IPv6 hosts bare or in URL brackets, and refuses a host with a port or a bad name where it stands', () => {
    expect(server('bindAddr: "[::1]"').config).toMatchObject({ bindAddr: '::1', proxyBindAddr: '::1' })
    expect(client('serverAddr: "[2001:db8::1]"\nproxies:\n  - { name: a, type: tcp, localIP: "[::1]", localPort: 1 }').config).toMatchObject({ serverAddr: '2001:db8::1', proxies: [{ localIP: '::1' }] })
    expect(client('serverAddr: relay.example.net').config.serverAddr).toBe('relay.example.net')
    const e = issuesOf(() => client('serverAddr: "relay.example.net:7000"\nproxies:\n  - { name: a, type: tcp, localIP: "no such host!", localPort: 1 }'))
    expect(e.issues.map((i) => [i.location.line, i.message])).toEqual([
      [1, 'relay.example.net:7000 includes a port (7000); give the host alone and the port in its own key'],
      [3, 'no such host! is not a valid host name (letters, digits and hyphens between dots)'],
    ])
    expect(issuesOf(() => server('proxyBindAddr: 300.1.1.1')).issues[0]?.message).toBe('300.1.1.1 is not a valid IPv4 address')
  })

  it('allowPorts single becomes a one-port range', () => {
    const { config } = server('allowPorts:\n  - { single: 5353 }\n  - { start: 6000, end: 6100 }')
    expect(config.allowPorts).toEqual([{ start: 5353, end: 5353 }, { start: 6000, end: 6100 }])
  })

  it('a client proxy gets localIP 127.0.0.1 and remotePort 0 by default', () => {
    const { config } = client('proxies:\n  - { name: web, type: tcp, localPort: 80 }')
    expect(config.proxies).toEqual([{ name: 'web', type: 'tcp', localIP: CLIENT_DEFAULTS.localIP, localPort: 80, remotePort: 0, allowSources: [], denySources: [], proxyProtocolVersion: null, maxVisitors: 0, bandwidthLimit: 0, bandwidthLimitMode: 'client' }])
    expect(config.transport).toEqual({
      heartbeatInterval: 10,
      heartbeatTimeout: 40,
      dialServerTimeout: 10,
      handshakeTimeout: 10,
      insecurePlaintext: false,
      connectServerLocalIP: null,
      protocol: 'tcp',
      tls: { enable: false, certFile: null, keyFile: null, trustedCaFile: null, serverName: '', disableCustomTLSFirstByte: true },
      proxyURL: null,
      maxStreams: 16_384,
    })
    expect(config.serverAddr).toBe(CLIENT_DEFAULTS.serverAddr)
    expect(config.loginFailExit).toBe(false)
  })

  it('reads transport.proxyProtocolVersion on tcp proxies and allowSources/denySources on both types', () => {
    const { config } = client([
      'proxies:',
      '  - { name: a, type: tcp, localPort: 1, transport: { proxyProtocolVersion: v2 }, allowSources: [10.0.0.0/8, "2001:db8::/32"], denySources: [10.1.2.3] }',
      '  - { name: b, type: udp, localPort: 2, denySources: ["::1"] }',
    ].join('\n'))
    expect(config.proxies[0]).toMatchObject({ proxyProtocolVersion: 'v2', allowSources: ['10.0.0.0/8', '2001:db8::/32'], denySources: ['10.1.2.3'] })
    expect(config.proxies[1]).toMatchObject({ allowSources: [], denySources: ['::1'] })
  })

  it('takes proxyProtocolVersion v2 on udp and refuses v1 there, unknown versions and malformed CIDRs', () => {
    expect(client('proxies:\n  - { name: u, type: udp, localPort: 1, transport: { proxyProtocolVersion: v2 } }').config.proxies[0]).toMatchObject({ type: 'udp', proxyProtocolVersion: 'v2' })
    const err = issuesOf(() => client([
      'proxies:',
      '  - { name: a, type: udp, localPort: 1, transport: { proxyProtocolVersion: v1 } }',
      '  - { name: b, type: tcp, localPort: 2, transport: { proxyProtocolVersion: v3 } }',
      '  - { name: c, type: tcp, localPort: 3, allowSources: [10.0.0.0/33] }',
    ].join('\n')))
    expect(err.issues.map((i) => i.location.path).sort()).toEqual(['proxies[0].transport.proxyProtocolVersion', 'proxies[1].transport.proxyProtocolVersion', 'proxies[2].allowSources[0]'])
    expect(err.issues.find((i) => i.location.path === 'proxies[2].allowSources[0]')?.message).toContain('must be a CIDR')
    expect(err.issues.find((i) => i.location.path === 'proxies[0].transport.proxyProtocolVersion')?.message).toMatch(/^PROXY protocol v1 describes TCP connections only: use v2/)
  })

  it('a proxy with enabled: false is dropped', () => {
    const { config } = client('proxies:\n  - { name: a, type: tcp, localPort: 1 }\n  - { name: b, type: tcp, localPort: 2, enabled: false }')
    expect(config.proxies.map((p) => p.name)).toEqual(['a'])
  })

  it('a disabled proxy is accepted and dropped', () => {
    const { config } = client('proxies:\n  - { name: p2p, type: xtcp, localPort: 22, secretKey: a-long-random-secret-for-tests, enabled: false }\n  - { name: a, type: tcp, localPort: 1 }')
    expect(config.proxies.map((p) => p.name)).toEqual(['a'])
  })

  it('a udp proxy gets frp\'s keys plus idleTimeout 120 s and maxFlows 4096 by default', () => {
    const { config } = client('proxies:\n  - { name: dns, type: udp, localPort: 53, remotePort: 5353 }\n  - { name: wg, type: udp, localPort: 51820, idleTimeout: 30, maxFlows: 16 }')
    expect(config.proxies).toEqual([
      { name: 'dns', type: 'udp', localIP: '127.0.0.1', localPort: 53, remotePort: 5353, idleTimeout: CLIENT_DEFAULTS.udpIdleTimeout, maxFlows: CLIENT_DEFAULTS.udpMaxFlows, allowSources: [], denySources: [], bandwidthLimit: 0, bandwidthLimitMode: 'client', proxyProtocolVersion: null },
      { name: 'wg', type: 'udp', localIP: '127.0.0.1', localPort: 51820, remotePort: 0, idleTimeout: 30, maxFlows: 16, allowSources: [], denySources: [], bandwidthLimit: 0, bandwidthLimitMode: 'client', proxyProtocolVersion: null },
    ])
    expect(CLIENT_DEFAULTS.udpIdleTimeout).toBe(120)
  })

  it('a tcp and a udp proxy may share a remotePort; two udp proxies may not', () => {
    expect(client('proxies:\n  - { name: a, type: tcp, localPort: 53, remotePort: 53 }\n  - { name: b, type: udp, localPort: 53, remotePort: 53 }').config.proxies).toHaveLength(2)
    const err = issuesOf(() => client('proxies:\n  - { name: a, type: udp, localPort: 53, remotePort: 53 }\n  - { name: b, type: udp, localPort: 54, remotePort: 53 }'))
    expect(err.message).toContain('remotePort 53 is already used by proxies[0]')
  })

  it('udp settings are checked: ranges, and only on udp proxies', () => {
    const err = issuesOf(() => client('proxies:\n  - { name: a, type: udp, localPort: 53, maxFlows: 0, idleTimeout: 90000 }\n  - { name: b, type: tcp, localPort: 22, maxFlows: 5 }'))
    expect(err.issues.map((i) => `${i.location.path} ${i.code}`)).toEqual([
      'proxies[0].maxFlows TUN_CONFIG_RANGE',
      'proxies[0].idleTimeout TUN_CONFIG_RANGE',
      'proxies[1].maxFlows TUN_CONFIG_INVALID',
    ])
  })
})

describe('clientID', () => {
  it('is kept when set', () => {
    expect(client('clientID: office-pc').config.clientID).toBe('office-pc')
  })

  it('defaults to user (or "client") plus 12 hex chars that depend on the config path', () => {
    const a = parseClientConfig('user: alice', '/etc/tunnel/a.yml', {}).config.clientID
    expect(a).toMatch(/^alice-[0-9a-f]{12}$/)
    expect(parseClientConfig('', '/etc/tunnel/a.yml', {}).config.clientID).toMatch(/^client-[0-9a-f]{12}$/)
    expect(parseClientConfig('user: alice', '/etc/tunnel/a.yml', {}).config.clientID).toBe(a)
    expect(parseClientConfig('user: alice', '/etc/tunnel/b.yml', {}).config.clientID).not.toBe(a)
    expect(defaultClientID('alice', '/etc/tunnel/a.yml')).toBe(a)
  })
})

describe('frp compatibility', () => {
  it('ignores top-level keys starting with "." and resolves anchors and merge keys from them', () => {
    const { config } = client([
      '.defaults: &d',
      '  type: tcp',
      '  localIP: 10.1.1.1',
      'proxies:',
      '  - <<: *d',
      '    name: web',
      '    localPort: 80',
    ].join('\n'))
    expect(config.proxies[0]).toEqual({ name: 'web', type: 'tcp', localIP: '10.1.1.1', localPort: 80, remotePort: 0, allowSources: [], denySources: [], proxyProtocolVersion: null, maxVisitors: 0, bandwidthLimit: 0, bandwidthLimitMode: 'client' })
  })

  it('treats a key with no value as unset, as frp does', () => {
    expect(client('serverAddr:\nauth:\n').config.serverAddr).toBe(CLIENT_DEFAULTS.serverAddr)
  })

  it('warns, without failing, for each frp key it ignores, naming the key and why', () => {
    const { warnings } = client('transport:\n  tcpMux: true\nwebServer:\n  port: 7400\n  pprofEnable: true\nauth: { token: x }\nproxies: [{ name: a, type: tcp, localPort: 1 }]')
    expect(warnings.map((w) => `${w.location.line}:${w.location.col} ${w.message}`)).toEqual([
      '2:3 transport.tcpMux is an frp setting this tunnel ignores: the control connection always multiplexes streams',
      '5:3 webServer.pprofEnable is an frp setting this tunnel ignores: Go profiling does not apply; profile with node --cpu-prof or --inspect',
    ])
  })

  it('refuses frp features it lacks with a reason instead of a bare unknown key', () => {
    const e = issuesOf(() => client('dnsServer: 8.8.8.8\nproxies:\n  - { name: a, type: tcp, localPort: 1 }\nvisitors:\n  - { name: v, type: stcp, serverName: a, secretKey: a-long-random-secret, bindPort: 9000, plugin: { type: tun } }'))
    expect(e.issues.map((i) => [i.code, i.location.path])).toEqual([
      ['TUN_CONFIG_UNKNOWN_KEY', 'dnsServer'],
      ['TUN_CONFIG_UNKNOWN_KEY', 'visitors[0].plugin'],
    ])
    expect(e.message).toContain('is an frp setting this version does not support yet')
  })
})

describe('warnings', () => {
  it('an empty token warns on both sides', () => {
    expect(server('bindPort: 7000').warnings.map((w) => w.message).join()).toContain('anyone who can reach this relay can connect')
    expect(client('auth: { token: "" }').warnings.map((w) => w.message).join()).toContain('auth.token is empty')
  })

  it('a client with no enabled proxies warns "no proxies"', () => {
    expect(client('auth: { token: x }').warnings.map((w) => w.message)).toEqual([expect.stringContaining('no proxies')])
  })

  it('heartbeats <= 0 are accepted with a warning', () => {
    const { config, warnings } = client('auth: { token: x }\ntransport: { heartbeatInterval: 0, heartbeatTimeout: 0 }\nproxies: [{ name: a, type: tcp, localPort: 1 }]')
    expect(config.transport.heartbeatInterval).toBe(0)
    expect(warnings).toHaveLength(2)
    expect(server('auth: { token: x }\ntransport: { heartbeatTimeout: -1 }').warnings).toHaveLength(1)
  })

  it('a valid file with a token and proxies has no warnings', () => {
    expect(client('auth: { token: x }\nproxies: [{ name: a, type: tcp, localPort: 1 }]').warnings).toEqual([])
  })
})

describe('errors', () => {
  it('reports every issue at once, in file order, each with its own place', () => {
    const e = issuesOf(() => client([
      'serverPort: 0',
      'serverAdr: x',
      'proxies:',
      '  - name: a',
      '    type: tcp',
      '    localPort: 99999',
      '    remotPort: 1',
      'log: { level: loud }',
    ].join('\n')))
    expect(e.issues.map((i) => `${i.location.line}:${i.location.col} ${i.code} ${i.location.path}`)).toEqual([
      '1:13 TUN_CONFIG_RANGE serverPort',
      '2:1 TUN_CONFIG_UNKNOWN_KEY serverAdr',
      '6:16 TUN_CONFIG_RANGE proxies[0].localPort',
      '7:5 TUN_CONFIG_UNKNOWN_KEY proxies[0].remotPort',
      '8:15 TUN_CONFIG_INVALID log.level',
    ])
    expect(e.code).toBe('TUN_CONFIG_RANGE')
    expect(e.message.split('\n')).toHaveLength(5)
  })

  it('suggests the nearest key valid at that place', () => {
    expect(issuesOf(() => server('bindAdur: x')).message).toContain('bindAdur: unknown key; did you mean bindAddr?')
    expect(issuesOf(() => client('auth: { tokn: x }')).message).toContain('auth.tokn: unknown key; did you mean token?')
    expect(issuesOf(() => client('proxies: [{ name: a, type: tcp, local_port: 1 }]')).message).toContain('did you mean localPort?')
  })

  it('lists the valid keys when nothing is close', () => {
    expect(issuesOf(() => client('log: { colour: red }')).message).toContain('log.colour: unknown key; valid keys here: level')
  })

  it('ports: 0 is allowed for bindPort and remotePort only', () => {
    expect(server('bindPort: 0').config.bindPort).toBe(0)
    expect(client('proxies: [{ name: a, type: tcp, localPort: 1, remotePort: 0 }]').config.proxies[0]).toMatchObject({ remotePort: 0 })
    expect(issuesOf(() => client('proxies: [{ name: a, type: tcp, localPort: 0 }]')).message).toContain('0 is outside 1-65535 (TUN_CONFIG_RANGE)')
    expect(issuesOf(() => client('serverPort: 0')).code).toBe('TUN_CONFIG_RANGE')
  })

  it('says a fractional number must be whole', () => {
    expect(issuesOf(() => server('bindPort: 70.5')).message).toContain('bindPort: must be a whole number, got 70.5 (TUN_CONFIG_INVALID)')
  })

  it('a proxy of a type that does not exist is told the types there are (every frp proxy type is served now)', () => {
    const e = issuesOf(() => client('proxies:\n  - { name: w, type: sctp, localPort: 22 }'))
    expect(e.message).toContain('type sctp is not a proxy type; use tcp, udp, http, https, tcpmux, stcp, sudp or xtcp')
  })

  it('a key that is a list or mapping is refused', () => {
    expect(issuesOf(() => client('? [a, b]\n: 1')).code).toBe('TUN_CONFIG_INVALID')
  })

  it('more than one YAML document is a syntax error', () => {
    expect(issuesOf(() => server('bindPort: 1\n---\nbindPort: 2')).code).toBe('TUN_CONFIG_SYNTAX')
  })

  it('never shows the token, even when its type is wrong', () => {
    const e = issuesOf(() => client('auth:\n  token: 918273645546'))
    expect(e.message).toContain('auth.token: must be a string (put it in quotes)')
    expect(e.message).not.toContain('918273645546')
  })
})

describe('environment templating', () => {
  it('substitutes {{ .Envs.NAME }} before parsing, so unquoted numbers stay numbers', () => {
    const { config } = client('serverPort: {{ .Envs.PORT }}\nauth: { token: "{{.Envs.TOKEN}}" }\nproxies: [{ name: a, type: tcp, localPort: {{   .Envs.PORT   }} }]', { PORT: '7001', TOKEN: 'abc' })
    expect(config.serverPort).toBe(7001)
    expect(config.auth.token).toBe('abc')
    expect(config.proxies[0]?.localPort).toBe(7001)
  })

  it('reads process.env when no env is given', () => {
    process.env.TUNNEL_CONFIG_TEST_PORT = '7123'
    try {
      expect(parseClientConfig('serverPort: {{ .Envs.TUNNEL_CONFIG_TEST_PORT }}', 'frpc.yml').config.serverPort).toBe(7123)
    } finally {
      delete process.env.TUNNEL_CONFIG_TEST_PORT
    }
  })

  it('an unset variable is an error naming it at its place in the original file', () => {
    const e = issuesOf(() => client('serverAddr: x\nauth:\n  token: "{{ .Envs.NOPE }}"\nserverPort: {{ .Envs.ALSO_NOPE }}'))
    expect(e.issues.map((i) => [i.code, `${i.location.line}:${i.location.col}`])).toEqual([
      ['TUN_CONFIG_ENV', '3:11'],
      ['TUN_CONFIG_ENV', '4:13'],
    ])
    expect(e.message).toContain('environment variable NOPE is not set')
  })

  it('errors after a substituted value point at the original columns', () => {
    const e = issuesOf(() => client('serverAddr: "{{ .Envs.HOST }}"\nauth: { token: "{{ .Envs.T }}", bogus: 1 }\nserverPort: {{ .Envs.BIG }}', { HOST: 'h'.repeat(60) + '.example.net', T: 't', BIG: '99999' }))
    expect(e.issues.map((i) => `${at(e, e.issues.indexOf(i))} ${i.location.path}`)).toEqual([
      '2:33 auth.bogus',
      '3:13 serverPort',
    ])
  })

  it('refuses a value with a line break (YAML injection)', () => {
    const e = issuesOf(() => client('serverAddr: {{ .Envs.EVIL }}', { EVIL: 'x\nauth: { token: "" }' }))
    expect(e.code).toBe('TUN_CONFIG_ENV')
    expect(e.message).not.toContain('token')
  })

  it('supports only .Envs.NAME and port ranges, and says so', () => {
    const e = issuesOf(() => client('serverAddr: {{ env "HOST" }}'))
    expect(e.message).toContain('only {{ .Envs.NAME }}, {{ range')
    expect(at(e)).toBe('1:13')
  })

  it('leaves templates in comments alone', () => {
    expect(client('# {{ .Envs.UNSET }}\nuser: "a # b" # {{ .Envs.UNSET }}').config.user).toBe('a # b')
  })
})

describe('files', () => {
  it('loadServerConfig and loadClientConfig read configs/', async () => {
    const s = await loadServerConfig(join(ROOT, 'configs', 'frps.yml'), {})
    const c = await loadClientConfig(join(ROOT, 'configs', 'frpc.yml'), {})
    expect(s.config.bindPort).toBe(7000)
    expect(c.config.proxies).toEqual([{ name: 'ssh', type: 'tcp', localIP: '127.0.0.1', localPort: 22, remotePort: 6000, allowSources: [], denySources: [], proxyProtocolVersion: null, maxVisitors: 0, bandwidthLimit: 0, bandwidthLimitMode: 'client' }])
    expect(c.config.auth.token).toBe(s.config.auth.token)
    // The TOML example is the same client.
    const t = await loadClientConfig(join(ROOT, 'configs', 'frpc.toml'), {})
    expect({ ...t.config, source: '', clientID: '' }).toEqual({ ...c.config, source: '', clientID: '', log: t.config.log, webServer: t.config.webServer })
  })

  it('an unreadable file is TUN_CONFIG_READ naming the file', async () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'tunnel-cfg-')), 'nope.yml')
    const err = await loadServerConfig(missing, {}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).code).toBe('TUN_CONFIG_READ')
    expect((err as ConfigError).message).toContain(missing)
    await expect(loadClientConfig(tmpdir(), {})).rejects.toMatchObject({ code: 'TUN_CONFIG_READ' })
  })

  it('reports positions in the file it read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tunnel-cfg-'))
    const file = join(dir, 'frpc.yml')
    writeFileSync(file, 'serverAddr: x\n\nserverPort: 65536\n')
    await expect(loadClientConfig(file, {})).rejects.toThrow(`${file}:3:13 serverPort: 65536 is outside 1-65535 (TUN_CONFIG_RANGE)`)
  })
})

describe('detectConfigKind', () => {
  it('reads the top-level keys first', () => {
    expect(detectConfigKind('serverAddr: x', 'frps.yml')).toBe('client')
    expect(detectConfigKind('proxies: []', 'x.yml')).toBe('client')
    expect(detectConfigKind('bindPort: 7000', 'frpc.yml')).toBe('server')
    expect(detectConfigKind('allowPorts: []\nauth: {}', 'x.yml')).toBe('server')
    expect(detectConfigKind('serverPort: {{ .Envs.P }}\n  bad: [', 'x.yml')).toBe('client')
  })

  it('then the file name, then client', () => {
    expect(detectConfigKind('auth: {}', '/etc/frps.yml')).toBe('server')
    expect(detectConfigKind('', 'frpc-office.yml')).toBe('client')
    expect(detectConfigKind('', 'tunnel.yml')).toBe('client')
  })
})

describe('messages say what to change', () => {
  it('a quoted number is told to lose its quotes', () => {
    expect(issuesOf(() => client('serverPort: "7000"')).message).toContain('serverPort: must be a number, not a string (remove the quotes), got "7000"')
  })

  it('a number where a string belongs is told to be quoted', () => {
    expect(issuesOf(() => client('user: 123')).message).toContain('user: must be a string (put it in quotes), got 123')
  })

  it('a missing proxy type says what to add', () => {
    expect(issuesOf(() => client('proxies: [{ name: a, localPort: 1 }]')).message).toContain('proxies[0].type: is missing: add `type: tcp`')
  })
})

describe('did-you-mean', () => {
  it('measures typos as edits, counting a swap of neighbours as one', () => {
    expect(editDistance('bindAdur', 'bindAddr')).toBe(1)
    expect(editDistance('locaPlort', 'localPort')).toBe(1)
    expect(editDistance('', 'abc')).toBe(3)
    expect(didYouMean('sevrerAddr', ['serverAddr', 'serverPort'])).toBe('serverAddr')
    expect(didYouMean('colour', ['level'])).toBeUndefined()
  })
})
