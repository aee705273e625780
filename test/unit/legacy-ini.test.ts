// frp's legacy INI format (frpc.ini / frps.ini): the reader (go-ini's rules as frp set them), the
// conversion to v1 keys by family (as frp's pkg/config/legacy converts), and what a user sees:
// problems and warnings at the INI key's line:col, named `section.key (v1 path)`.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { runVerify } from '../../cli/commands/verify.js'
import { detectConfigKind, parseClientConfig, parseServerConfig } from '../../shared/config/index.js'
import { convertLegacyIni, isLegacyIni } from '../../shared/config/legacy-ini.js'
import { parseIni } from '../../shared/config/ini.js'
import { ConfigError } from '../../shared/errors.js'

function refusal (load: () => unknown): ConfigError {
  try {
    load()
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('loaded, but should not')
}

const client = (body: string): Record<string, unknown> => convertLegacyIni(`[common]\nserver_addr = 127.0.0.1\n${body}`, 'client').data
const server = (body: string): Record<string, unknown> => convertLegacyIni(`[common]\n${body}`, 'server').data
const proxy = (body: string): unknown => (client(`[p]\n${body}`).proxies as unknown[])[0]

describe('the INI reader', () => {
  it('reads sections and keys as frp does: no inline comments, bare keys are true, one pair of quotes goes, : delimits too', () => {
    const ini = parseIni('; top\n[common]\n# comment\n  a = b # not a comment\nflag\nq = "x y"\nc: d\nlong = one \\\n two\n')
    const common = ini.sections.find((s) => s.name === 'common')
    expect(Object.fromEntries([...common?.keys.values() ?? []].map((k) => [k.name, k.value]))).toEqual({ a: 'b # not a comment', flag: 'true', q: 'x y', c: 'd', long: 'one two' })
    expect(ini.problems).toEqual([])
  })

  it('removes quotes only as frp\'s INI library does: one outer pair of \' or " with no other inside, or backticks', () => {
    const ini = parseIni('[s]\na = "x"\nb = "x"y"\nc = \'it\'s\'\nd = `raw "v"` tail\ne = "cont\\\n  inued"\n')
    const keys = Object.fromEntries([...ini.sections[1]?.keys.values() ?? []].map((k) => [k.name, k.value]))
    expect(keys).toEqual({ a: 'x', b: '"x"y"', c: '\'it\'s\'', d: 'raw "v"', e: '"continued"' })
  })

  it('keeps the last of a key given twice and merges a section given twice, noting both', () => {
    const ini = parseIni('[s]\na = 1\n[t]\n[s]\na = 2\nb = 3\n')
    const s = ini.sections.find((x) => x.name === 's')
    expect([...s?.keys.values() ?? []].map((k) => `${k.name}=${k.value}`)).toEqual(['a=2', 'b=3'])
    expect(ini.problems.map((p) => p.kind)).toEqual(['note', 'note'])
  })

  it('reports an unclosed header and an empty key as syntax errors at their line', () => {
    const text = '[common]\n[broken\n = x\n'
    expect(parseIni(text).problems.map((p) => [p.kind, text.slice(0, p.offset).split('\n').length])).toEqual([['syntax', 2], ['syntax', 3]])
    const e = refusal(() => parseClientConfig(text, 'frpc.ini', {}))
    expect(e.message).toMatch(/^frpc\.ini:2:1 INI: this section header has no closing \]/)
  })

  it('tells a legacy file by its extension or a [common] section, as frp does', () => {
    expect(isLegacyIni('[common]\n', 'frpc.toml')).toBe(true)
    expect(isLegacyIni('  [ common ]\r\n', 'frpc.yml')).toBe(true)
    expect(isLegacyIni('', 'x.INI')).toBe(true)
    expect(isLegacyIni('[webServer]\nport = 1\n', 'frps.toml')).toBe(false)
    expect(isLegacyIni('# c\n[common] # trailing words, as frp\'s INI library allows\n', 'frpc.yml')).toBe(true)
  })
})

describe('frpc.ini [common] → v1', () => {
  it('maps the connection, auth, admin, log and transport keys to their v1 names with their types', () => {
    expect(client('server_port = 7000\ntoken = abc\nuser = me\nlogin_fail_exit = false\nprotocol = websocket\ntls_enable = true\ntls_server_name = relay\n' +
      'heartbeat_interval = 10\nheartbeat_timeout = 30\nadmin_addr = 127.0.0.1\nadmin_port = 7400\nadmin_user = u\nadmin_pwd = p\nlog_level = debug\npool_count = 5\n' +
      'connect_server_local_ip = 127.0.0.1\nhttp_proxy = http://127.0.0.1:3128\nauthenticate_heartbeats = true\nauthenticate_new_work_conns = yes\nmeta_var1 = 123\nstart = ssh, dns\n')).toEqual({
      serverAddr: '127.0.0.1',
      serverPort: 7000,
      user: 'me',
      loginFailExit: false,
      start: ['ssh', 'dns'],
      auth: { token: 'abc', additionalScopes: ['HeartBeats', 'NewWorkConns'] },
      webServer: { addr: '127.0.0.1', port: 7400, user: 'u', password: 'p' },
      log: { level: 'debug' },
      metadatas: { var1: '123' },
      transport: {
        protocol: 'websocket',
        tls: { enable: true, serverName: 'relay' },
        heartbeatInterval: 10,
        heartbeatTimeout: 30,
        poolCount: 5,
        connectServerLocalIP: '127.0.0.1',
        proxyURL: 'http://127.0.0.1:3128',
      },
    })
  })

  it('leaves a key with an empty value unset (frp keeps its default) and notes keys frp does not read', () => {
    const c = convertLegacyIni('[common]\nauthentication_method =\noidc_client_id =\nserver_addr = h\nbind_port = 7000\n', 'client')
    expect(c.data).toEqual({ serverAddr: 'h' })
    expect(c.notes.map((n) => n.message)).toEqual(['common.bind_port is not a key frp\'s INI format reads in [common] of frpc.ini; ignored, as frp does'])
  })

  it('reads no keys outside a section or in [DEFAULT], as frp reads none, and says so', () => {
    const c = convertLegacyIni('stray = 1\n[common]\nserver_addr = h\n[DEFAULT]\nlocal_port = 22\n', 'client')
    expect(c.data).toEqual({ serverAddr: 'h' })
    expect(c.notes.map((n) => n.message)).toEqual([
      'stray is not a key frp\'s INI format reads outside a section; ignored, as frp does',
      'DEFAULT.local_port is not a key frp\'s INI format reads in [DEFAULT]; ignored, as frp does',
    ])
  })

  it('drops log_way as frp\'s conversion to v1 does, with a warning, and gives v1\'s warnings to keys v1 kept but we ignore', () => {
    const { warnings } = parseClientConfig('[common]\nserver_addr = x\ntoken = abcdefgh\nlog_way = console\ntcp_mux = true\n[s]\nlocal_port = 1\nremote_port = 2\n', 'frpc.ini', {})
    expect(warnings.map((w) => `${w.location.line} ${w.message.replace(/: .*/, '')}`)).toEqual([
      '4 common.log_way is a key frp\'s v1 format dropped (log_file says where logs go); ignored, as frp does',
      '5 common.tcp_mux (transport.tcpMux) is an frp setting this tunnel ignores',
    ])
  })

  it('needs a [common] section, as frp does', () => {
    const e = refusal(() => parseClientConfig('[ssh]\nlocal_port = 22\n', 'frpc.ini', {}))
    expect(e.message).toMatch(/frp's INI format needs a \[common\] section/)
  })
})

describe('frps.ini [common] and [plugin.name] → v1', () => {
  it('maps the listeners, vhost, dashboard, limits, auth and TLS keys', () => {
    expect(server('bind_addr = 0.0.0.0\nbind_port = 7000\nvhost_http_port = 80\nvhost_https_port = 443\nvhost_http_timeout = 60\nsubdomain_host = frps.com\n' +
      'dashboard_addr = 127.0.0.1\ndashboard_port = 7500\ndashboard_user = admin\ndashboard_pwd = secret\nmax_ports_per_client = 3\ntoken = t\n' +
      'tls_only = true\ntls_cert_file = s.crt\ntls_key_file = s.key\ntcpmux_httpconnect_port = 1337\ntcpmux_passthrough = true\nheartbeat_timeout = 90\nproxy_bind_addr = 127.0.0.1\n')).toEqual({
      bindAddr: '0.0.0.0',
      bindPort: 7000,
      vhostHTTPPort: 80,
      vhostHTTPSPort: 443,
      vhostHTTPTimeout: 60,
      subDomainHost: 'frps.com',
      webServer: { addr: '127.0.0.1', port: 7500, user: 'admin', password: 'secret' },
      maxPortsPerClient: 3,
      auth: { token: 't' },
      transport: { tls: { force: true, certFile: 's.crt', keyFile: 's.key' }, heartbeatTimeout: 90 },
      tcpmuxHTTPConnectPort: 1337,
      tcpmuxPassthrough: true,
      proxyBindAddr: '127.0.0.1',
    })
  })

  it('reads allow_ports ranges and single ports, and the dashboard certificate only with dashboard_tls_mode', () => {
    expect(server('allow_ports = 2000-3000, 3001,3003\n').allowPorts).toEqual([{ start: 2000, end: 3000 }, { single: 3001 }, { single: 3003 }])
    expect(server('dashboard_tls_mode = true\ndashboard_tls_cert_file = d.crt\ndashboard_tls_key_file = d.key\n').webServer).toEqual({ tls: { certFile: 'd.crt', keyFile: 'd.key' } })
    const off = convertLegacyIni('[common]\ndashboard_tls_cert_file = d.crt\n', 'server')
    expect(off.data).toEqual({})
    expect(off.notes[0]?.message).toMatch(/read only with dashboard_tls_mode = true/)
  })

  it('refuses an allow_ports part that is not a port or range at its key (frp would silently allow every port)', () => {
    const e = refusal(() => parseServerConfig('[common]\nbind_port = 7000\nallow_ports = 2000-3000,abc\n', 'frps.ini', {}))
    expect(e.issues[0]?.location).toMatchObject({ line: 3, path: 'common.allow_ports (allowPorts[1])' })
  })

  it('turns each [plugin.name] section into an httpPlugins entry', () => {
    expect(server('bind_port = 7000\n[plugin.user-manager]\naddr = 127.0.0.1:9000\npath = /handler\nops = Login, NewProxy\ntlsVerify = true\n').httpPlugins)
      .toEqual([{ name: 'user-manager', addr: '127.0.0.1:9000', path: '/handler', ops: ['Login', 'NewProxy'], tlsVerify: true }])
  })

  it('loads frp\'s relay example into the relay settings', () => {
    const { config } = parseServerConfig('[common]\nbind_port = 7000\nvhost_http_port = 8080\nallow_ports = 2000-3000,3001\nsubdomain_host = frps.com\nmax_ports_per_client = 2\ntoken = abc\n', 'frps.ini', {})
    expect(config).toMatchObject({ bindPort: 7000, vhostHTTPPort: 8080, subDomainHost: 'frps.com', maxPortsPerClient: 2, auth: { token: 'abc' }, allowPorts: [{ start: 2000, end: 3000 }, { start: 3001, end: 3001 }] })
  })
})

describe('proxy sections → v1 proxies', () => {
  it('makes a tcp proxy of a section without type, named after the section', () => {
    expect(proxy('local_port = 22\nremote_port = 6000\nlocal_ip = 127.0.0.2\n')).toEqual({ name: 'p', type: 'tcp', localPort: 22, remotePort: 6000, localIP: '127.0.0.2' })
  })

  it('maps transport keys: encryption, compression, proxy protocol, bandwidth limit', () => {
    expect(proxy('type = udp\nlocal_port = 53\nremote_port = 6002\nuse_encryption = true\nuse_compression = false\nproxy_protocol_version = v2\nbandwidth_limit = 1MB\nbandwidth_limit_mode = server\n')).toEqual({
      name: 'p', type: 'udp', localPort: 53, remotePort: 6002,
      transport: { useEncryption: true, useCompression: false, proxyProtocolVersion: 'v2', bandwidthLimit: '1MB', bandwidthLimitMode: 'server' },
    })
  })

  it('maps group and health check keys to loadBalancer and healthCheck', () => {
    expect(proxy('local_port = 80\nremote_port = 6001\ngroup = web\ngroup_key = k\nhealth_check_type = http\nhealth_check_url = /status\nhealth_check_timeout_s = 3\nhealth_check_max_failed = 2\nhealth_check_interval_s = 10\n')).toMatchObject({
      loadBalancer: { group: 'web', groupKey: 'k' },
      healthCheck: { type: 'http', path: '/status', timeoutSeconds: 3, maxFailed: 2, intervalSeconds: 10 },
    })
  })

  it('maps http keys: domains, locations, credentials, header_* to requestHeaders, meta_* to metadatas', () => {
    expect(proxy('type = http\nlocal_port = 80\ncustom_domains = a.com, b.com\nsubdomain = web\nlocations = /,/pic\nhttp_user = u\nhttp_pwd = p\nhost_header_rewrite = x\nheader_X-From-Where = frp\nmeta_team = a\n')).toEqual({
      name: 'p', type: 'http', localPort: 80, customDomains: ['a.com', 'b.com'], subdomain: 'web', locations: ['/', '/pic'], httpUser: 'u', httpPassword: 'p',
      hostHeaderRewrite: 'x', requestHeaders: { set: { 'X-From-Where': 'frp' } }, metadatas: { team: 'a' },
    })
  })

  it('reads only the keys of the section\'s type (remote_port of an https proxy is noted, not used), and header_* only on http', () => {
    const c = convertLegacyIni('[common]\n[p]\ntype = https\nlocal_port = 443\ncustom_domains = a.com\nremote_port = 1\nheader_X = y\n', 'client')
    expect(c.data.proxies).toEqual([{ name: 'p', type: 'https', localPort: 443, customDomains: ['a.com'] }])
    expect(c.notes.map((n) => n.message)).toEqual([
      'p.remote_port is not a key frp\'s INI format reads in a type https proxy section; ignored, as frp does',
      'p.header_X is not a key frp\'s INI format reads in a type https proxy section; ignored, as frp does',
    ])
  })

  it('maps tcpmux and secret proxies (sk → secretKey, allow_users → allowUsers)', () => {
    expect(proxy('type = tcpmux\nmultiplexer = httpconnect\nlocal_port = 22\ncustom_domains = t1\nroute_by_http_user = u\n')).toMatchObject({ type: 'tcpmux', multiplexer: 'httpconnect', customDomains: ['t1'], routeByHTTPUser: 'u' })
    expect(proxy('type = stcp\nsk = secret\nlocal_port = 22\nallow_users = *\n')).toEqual({ name: 'p', type: 'stcp', secretKey: 'secret', localPort: 22, allowUsers: ['*'] })
  })

  it('passes each plugin the plugin_* keys frp gives it, and notes the others', () => {
    expect(proxy('plugin = socks5\nremote_port = 6005\nplugin_user = a\nplugin_passwd = b\n')).toMatchObject({ plugin: { type: 'socks5', username: 'a', password: 'b' } })
    expect(proxy('plugin = http_proxy\nplugin_http_user = a\nplugin_http_passwd = b\n')).toMatchObject({ plugin: { type: 'http_proxy', httpUser: 'a', httpPassword: 'b' } })
    expect(proxy('plugin = static_file\nplugin_local_path = /srv\nplugin_strip_prefix = static\n')).toMatchObject({ plugin: { type: 'static_file', localPath: '/srv', stripPrefix: 'static' } })
    expect(proxy('plugin = unix_domain_socket\nplugin_unix_path = /run/x.sock\n')).toMatchObject({ plugin: { type: 'unix_domain_socket', unixPath: '/run/x.sock' } })
    expect(proxy('type = https\nplugin = https2http\nplugin_local_addr = 127.0.0.1:80\nplugin_crt_path = a.crt\nplugin_key_path = a.key\nplugin_host_header_rewrite = h\nplugin_header_X-A = 1\n')).toMatchObject({
      plugin: { type: 'https2http', localAddr: '127.0.0.1:80', crtPath: 'a.crt', keyPath: 'a.key', hostHeaderRewrite: 'h', requestHeaders: { set: { 'X-A': '1' } } },
    })
    const c = convertLegacyIni('[common]\n[p]\nplugin = socks5\nplugin_unix_path = /x\n', 'client')
    expect(c.notes[0]?.message).toBe('p.plugin_unix_path is not read by frp\'s INI format for plugin "socks5"; ignored, as frp does')
  })
})

describe('dotted sections', () => {
  it('take the keys they lack from their parent section, as frp\'s INI library reads them, but not its meta_/header_/plugin_ keys', () => {
    const c = convertLegacyIni('[common]\n[web]\ntype = http\nlocal_port = 80\ncustom_domains = a.com\nmeta_team = x\n[web.api]\nlocations = /api\n', 'client')
    expect(c.data.proxies).toEqual([
      { name: 'web', type: 'http', localPort: 80, customDomains: ['a.com'], metadatas: { team: 'x' } },
      { name: 'web.api', type: 'http', localPort: 80, customDomains: ['a.com'], locations: ['/api'] },
    ])
    expect(c.notes.map((n) => n.message)).toEqual(['[web.api] takes type from [web], local_port from [web], custom_domains from [web]: frp\'s INI reads a dotted section as its parent\'s child'])
  })

  it('report a problem in an inherited key at the parent\'s line, named by the parent', () => {
    const e = refusal(() => parseClientConfig('[common]\n[ssh]\nbandwidth_limit = 1XB\nlocal_port = 22\nremote_port = 6000\n[ssh.b]\nlocal_port = 23\nremote_port = 6001\n', 'frpc.ini', {}))
    // Once for [ssh] itself, once for [ssh.b], which took it.
    expect(e.issues.map((i) => `${i.location.line}:${i.location.col} ${i.location.path}`)).toEqual(['3:19 ssh.bandwidth_limit (transport.bandwidthLimit)', '3:19 ssh.bandwidth_limit (transport.bandwidthLimit)'])
  })
})

describe('[range:name] sections', () => {
  it('become one proxy per port pair, named name_0, name_1, … as frp names them, with the other keys copied', () => {
    const proxies = client('[range:game]\ntype = udp\nlocal_port = 6010-6012,6020\nremote_port = 7010-7013\nuse_encryption = true\n').proxies as Array<Record<string, unknown>>
    expect(proxies.map((p) => [p.name, p.type, p.localPort, p.remotePort])).toEqual([['game_0', 'udp', 6010, 7010], ['game_1', 'udp', 6011, 7011], ['game_2', 'udp', 6012, 7012], ['game_3', 'udp', 6020, 7013]])
    expect(proxies[3]?.transport).toEqual({ useEncryption: true })
  })

  it('refuses unequal port counts and bad numbers at the section or key', () => {
    let e = refusal(() => parseClientConfig('[common]\n[range:x]\nlocal_port = 1-3\nremote_port = 5\n', 'frpc.ini', {}))
    expect(e.message).toMatch(/^frpc\.ini:2:1 \[range:x\] has 3 local ports and 1 remote ports/)
    e = refusal(() => parseClientConfig('[common]\n[range:x]\nlocal_port = 5-a\nremote_port = 5\n', 'frpc.ini', {}))
    expect(e.message).toMatch(/^frpc\.ini:3:14 local_port: "5-a" is not a number or a range/)
  })
})

describe('visitor sections (role = visitor) → v1 visitors', () => {
  it('maps the visitor keys, and xtcp\'s own', () => {
    const data = client('[v]\nrole = visitor\ntype = xtcp\nserver_name = p2p\nserver_user = u1\nsk = abcdefg\nbind_addr = 127.0.0.1\nbind_port = 9001\nkeep_tunnel_open = false\nmax_retries_an_hour = 8\n')
    expect(data.visitors).toEqual([{ name: 'v', type: 'xtcp', serverName: 'p2p', serverUser: 'u1', secretKey: 'abcdefg', bindAddr: '127.0.0.1', bindPort: 9001, keepTunnelOpen: false, maxRetriesAnHour: 8 }])
    expect(data.proxies).toBeUndefined()
  })

  it('refuses a role other than server or visitor at its value', () => {
    const e = refusal(() => parseClientConfig('[common]\n[v]\nrole = client\n', 'frpc.ini', {}))
    expect(e.message).toMatch(/^frpc\.ini:3:8 role must be server \(a proxy\) or visitor, not "client"/)
  })
})

describe('what a user of an INI file sees', () => {
  it('renders {{ .Envs.X }} templates as frp does before reading the INI', () => {
    const { config } = parseClientConfig('[common]\nserver_addr = {{ .Envs.RELAY }}\ntoken = {{ .Envs.TOKEN }}\n[ssh]\nlocal_port = 22\nremote_port = 6000\n', 'frpc.ini', { RELAY: '127.0.0.9', TOKEN: 'tok' })
    expect([config.serverAddr, config.auth.token]).toEqual(['127.0.0.9', 'tok'])
  })

  it('gets every problem of the v1 checks at the INI key, named section.key (v1 path)', () => {
    const text = '[common]\nserver_port = 99999\n\n[ssh]\nlocal_port = 22\nremote_port = 6000\n[web]\ntype = http\nlocal_port = 80\n'
    const e = refusal(() => parseClientConfig(text, 'frpc.ini', {}))
    expect(e.message.split('\n').map((l) => l.replace(/: .*/, ''))).toEqual([
      'frpc.ini:2:15 common.server_port (serverPort)',
      'frpc.ini:8:8 web.type (type)', // an http proxy needs customDomains or subdomain: said at its type
    ])
  })

  it('gets the warnings of the v1 keys a legacy key became, at its line', () => {
    const { warnings } = parseClientConfig('[common]\nserver_addr = 127.0.0.1\ntoken = abcdefgh\nlog_file = ./frpc.log\n[ssh]\nlocal_port = 22\nremote_port = 6000\nuse_compression = true\n', 'frpc.ini', {})
    const lines = warnings.map((w) => `${w.location.line}:${w.location.col} ${w.message}`)
    expect(lines.some((l) => l.startsWith('4:1 common.log_file (log.to) is an frp setting this tunnel ignores'))).toBe(true)
    expect(lines.some((l) => l.startsWith('8:1 ssh.use_compression (transport.useCompression) is an frp setting this tunnel ignores'))).toBe(true)
  })

  it('tells a client file from a relay file by the INI keys only one side reads', () => {
    expect(detectConfigKind('[common]\nbind_port = 7000\n', 'x.ini')).toBe('server')
    expect(detectConfigKind('[common]\nserver_addr = x\n', 'x.ini')).toBe('client')
    expect(detectConfigKind('[common]\ntoken = a\n[ssh]\nlocal_port = 22\n', 'x.ini')).toBe('client')
    expect(detectConfigKind('[common]\ntoken = a\n[plugin.a]\naddr = x\n', 'frpc.ini')).toBe('server')
  })
})

describe('includes of an INI file', () => {
  it('adds the proxy sections of included .ini files (their [common] is not read), each problem at its own file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tunnel-ini-'))
    mkdirSync(join(dir, 'confd'))
    writeFileSync(join(dir, 'confd', 'a.ini'), '[common]\nserver_port = 1\n[web]\nlocal_port = 80\nremote_port = 6080\n')
    const main = join(dir, 'frpc.ini')
    const text = '[common]\nserver_addr = 127.0.0.1\nincludes = ./confd/*.ini\n[ssh]\nlocal_port = 22\nremote_port = 6000\n'
    const loaded = parseClientConfig(text, main, {})
    expect(loaded.config.proxies.map((p) => p.name)).toEqual(['ssh', 'web'])
    expect(loaded.config.serverPort).toBe(7000)
    expect(loaded.warnings.some((w) => w.location.file.endsWith('a.ini') && /\[common\] is not read/.test(w.message))).toBe(true)
    writeFileSync(join(dir, 'confd', 'a.ini'), '[web]\nlocal_port = 80\nremote_port = 99999\n')
    const e = refusal(() => parseClientConfig(text, main, {}))
    expect(e.issues.map((i) => `${i.location.file.slice(dir.length)}:${i.location.line}:${i.location.col}`)).toEqual(['/confd/a.ini:3:15'])
  })
})

describe('tunnel verify --print-v1', () => {
  const ROOT = join(import.meta.dirname, '..', '..')
  const ENV = { FRP_TOKEN: 'print-token', WEB_PASSWORD: 'print-web', SOCKS_PASSWORD: 'print-socks' }

  async function printed (file: string): Promise<{ code: number, stdout: string[], stderr: string[] }> {
    const stdout: string[] = []
    const stderr: string[] = []
    for (const [k, v] of Object.entries(ENV)) vi.stubEnv(k, v)
    try {
      const code = await runVerify(file, { stdout: (x) => stdout.push(x), stderr: (x) => stderr.push(x) }, { printV1: true })
      return { code, stdout, stderr }
    } finally {
      vi.unstubAllEnvs()
    }
  }

  /** The config without what depends on the file's name. */
  const same = (c: { source: string, clientID?: string }): object => ({ ...c, source: '', clientID: '' })

  it('prints a v1 YAML file that loads into the same config as the INI file, for both sides and frp\'s own files', async () => {
    for (const ini of ['configs/frpc.ini', 'configs/frps.ini', 'test/fixtures/frp/legacy/frps_legacy_full.ini', 'test/fixtures/frp/e2e/legacy-default.frpc.ini', 'test/fixtures/frp/e2e/legacy-default.frps.ini']) {
      const file = join(ROOT, ini)
      const r = await printed(file)
      expect(r.code, ini).toBe(0)
      expect(r.stdout, ini).toHaveLength(1)
      expect(r.stderr.at(-1), ini).toMatch(/is valid \((server|client) config\)$/)
      const yaml = r.stdout[0] ?? ''
      const twin = join(dirname(file), 'twin.yml')
      const server = /is valid \(server/.test(r.stderr.at(-1) ?? '')
      const fromIni = server ? parseServerConfig(readFileSync(file, 'utf8'), file, ENV) : parseClientConfig(readFileSync(file, 'utf8'), file, ENV)
      const fromYaml = server ? parseServerConfig(yaml, twin, ENV) : parseClientConfig(yaml, twin, ENV)
      expect(same(fromYaml.config), ini).toEqual(same(fromIni.config))
      // The same warnings, less the INI-only ones (keys frp's INI does not read), in any order.
      const v1Names = (ws: ReadonlyArray<{ message: string }>): string[] => ws.filter((w) => !/ignored, as frp does$/.test(w.message)).map((w) => w.message.replace(/^\S+ \(([^)]+)\)/, '$1')).sort()
      expect(v1Names(fromYaml.warnings), ini).toEqual(v1Names(fromIni.warnings))
    }
  })

  it('keeps templates as templates (no environment value in the output), a number bare so it renders as one', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tunnel-ini-')), 'frpc.ini')
    writeFileSync(file, '[common]\nserver_addr = 127.0.0.1\nserver_port = {{ .Envs.RELAY_PORT }}\ntoken = {{ .Envs.FRP_TOKEN }}\n[ssh]\nlocal_port = 22\nremote_port = 6000\n')
    vi.stubEnv('RELAY_PORT', '7001')
    let r
    try {
      r = await printed(file)
    } finally {
      vi.unstubAllEnvs()
    }
    const yaml = r.stdout[0] ?? ''
    expect(yaml).toContain('serverPort: {{ .Envs.RELAY_PORT }}\n')
    expect(yaml).toContain('token: "{{ .Envs.FRP_TOKEN }}"')
    expect(yaml).not.toContain('print-token')
    expect(parseClientConfig(yaml, 'frpc.yml', { RELAY_PORT: '7001', FRP_TOKEN: 't' }).config).toMatchObject({ serverPort: 7001, auth: { token: 't' } })
  })

  it('still prints a refused file (the v1 file is where to fix it), and says a v1 file is one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tunnel-ini-'))
    writeFileSync(join(dir, 'frpc.ini'), '[common]\n[ssh]\nlocal_port = 22\nremote_port = 70000\n')
    const refused = await printed(join(dir, 'frpc.ini'))
    expect(refused.code).toBe(2)
    expect(refused.stdout[0]).toContain('remotePort: 70000')
    writeFileSync(join(dir, 'frpc.yml'), 'serverAddr: x\nproxies: [{ name: a, type: tcp, localPort: 1 }]\n')
    const v1 = await printed(join(dir, 'frpc.yml'))
    expect(v1.stdout).toEqual([])
    expect(v1.stderr.some((l) => l.includes('already in frp\'s v1 format'))).toBe(true)
  })
})

describe('hostile INI files', () => {
  it('keep __proto__ and dotted names in meta_/header_ keys as plain map keys, touching no prototype', () => {
    const data = client('[p]\ntype = http\nlocal_port = 80\ncustom_domains = a.com\nmeta___proto__.polluted = yes\nmeta_a.b = 1\nheader___proto__ = x\n')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    const p = (data.proxies as Array<Record<string, unknown>>)[0] ?? {}
    expect(Object.keys(p.metadatas as object)).toEqual(['__proto__.polluted', 'a.b'])
    expect(Object.getPrototypeOf(p.metadatas)).toBe(Object.prototype)
    expect(Object.keys((p.requestHeaders as { set: object }).set)).toEqual(['__proto__'])
  })

  it('read __proto__, constructor and toString as key, type and plugin names like any unknown name (an ignored key, a refused type), never as the lookup tables\' prototype', () => {
    for (const [text, file] of [
      ['[common]\n__proto__ = 1\nconstructor = 2\ntoString = 3\nserver_port = 7000\n', 'frpc.ini'],
      ['[common]\n__proto__ = 1\nbind_port = 7000\n', 'frps.ini'],
      ['[common]\nserver_port = 7000\n[p]\ntype = constructor\nlocal_port = 22\n', 'frpc.ini'],
      ['[common]\nserver_port = 7000\n[p]\ntype = tcp\nlocal_port = 22\nremote_port = 6000\nplugin = constructor\nplugin___proto__ = 1\nplugin_constructor = 2\n', 'frpc.ini'],
    ] as const) {
      const load = file === 'frpc.ini' ? () => parseClientConfig(text, file, {}) : () => parseServerConfig(text, file, {})
      try {
        load()
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError)
        expect((err as ConfigError).issues.length).toBeGreaterThan(0)
      }
    }
    expect(() => parseClientConfig('[common]\n__proto__ = 1\nserver_port = 7000\n', 'frpc.ini', {})).not.toThrow()
  })

  it('never make the loader throw anything but a ConfigError with placed issues', () => {
    const pieces = ['[common]', '[range:r]', '[plugin.p]', '[a.b]', '[a]', '[DEFAULT]', '[__proto__]', 'local_port = ', 'remote_port = ', '6000-6002', '70000', ',', '-',
      'type = ', 'udp', 'http', 'xtcp', 'role = visitor', 'plugin = socks5', 'plugin_user = x', 'meta_a = 1', 'header___proto__ = y', 'allow_ports = ',
      'bind_port = ', 'server_port = ', 'token = ', '=', ':', '\n', '\n', '\n', ' ', '"', '`', '\\', '#', ';', '{{ .Envs.A }}', '__proto__ = 1', 'constructor.x = 2', ']', '[']
    const text = fc.array(fc.constantFrom(...pieces), { maxLength: 50 }).map((p) => p.join(''))
    fc.assert(fc.property(text, fc.constantFrom('frpc.ini', 'frps.ini'), (t, file) => {
      for (const load of [() => parseClientConfig(t, file, { A: '7000' }), () => parseServerConfig(t, file, { A: '7000' })]) {
        try {
          load()
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err
          expect(err.issues.length).toBeGreaterThan(0)
        }
      }
      expect(({} as Record<string, unknown>).x).toBeUndefined()
    }), { numRuns: 300 })
  })
})
