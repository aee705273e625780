// frp's documented format is TOML: the same keys, checks and file:line:col places as YAML.
import { describe, expect, it } from 'vitest'
import { detectConfigKind, parseClientConfig, parseServerConfig } from '../../shared/config/index.js'
import type { ConfigError } from '../../shared/errors.js'
import { splitKey, tomlOffsetOf, tomlPathOffsets } from '../../shared/config/toml-paths.js'

function issuesOf (fn: () => unknown): ConfigError {
  try { fn() } catch (err) { return err as ConfigError }
  throw new Error('expected a ConfigError')
}

const FRPC = `# as frp's docs write it
serverAddr = "relay.example.net"
serverPort = 7000
auth.token = "{{ .Envs.FRP_TOKEN }}"
transport.heartbeatInterval = 5

[[proxies]]
name = "ssh"
type = "tcp"
localIP = "127.0.0.1"
localPort = 22
remotePort = 6000

[[proxies]]
name = "dns"
type = "udp"
localPort = 53
remotePort = 6053
transport.bandwidthLimit = "1MB"
`

describe('TOML configs (frpc.toml / frps.toml)', () => {
  it('loads frp\'s TOML with dotted keys, array tables and env templates into the same config as YAML', () => {
    const { config } = parseClientConfig(FRPC, 'frpc.toml', { FRP_TOKEN: 'abc' })
    expect(config).toMatchObject({ serverAddr: 'relay.example.net', serverPort: 7000, auth: { token: 'abc' }, transport: { heartbeatInterval: 5 } })
    expect(config.proxies.map((p) => [p.name, p.type, p.localPort, 'remotePort' in p ? p.remotePort : null, p.bandwidthLimit])).toEqual([['ssh', 'tcp', 22, 6000, 0], ['dns', 'udp', 53, 6053, 1024 * 1024]])
    const yaml = parseClientConfig('serverAddr: relay.example.net\nserverPort: 7000\nauth: { token: abc }\ntransport: { heartbeatInterval: 5 }\nproxies:\n  - { name: ssh, type: tcp, localIP: 127.0.0.1, localPort: 22, remotePort: 6000 }\n  - { name: dns, type: udp, localPort: 53, remotePort: 6053, transport: { bandwidthLimit: 1MB } }', 'frpc.yml', {})
    expect({ ...config, source: '', clientID: '' }).toEqual({ ...yaml.config, source: '', clientID: '' })
    const server = parseServerConfig('bindPort = 7000\nauth.token = "t"\nallowPorts = [ { start = 6000, end = 6100 }, { single = 7001 } ]\n', 'frps.toml', {})
    expect(server.config.allowPorts).toEqual([{ start: 6000, end: 6100 }, { start: 7001, end: 7001 }])
  })

  it('reports every problem at its line and column, in file order', () => {
    const text = [
      'serverAddr = "relay.example.net:7000"', // 1
      'serverPort = 70000', // 2
      'bogusKey = 1', // 3
      '', // 4
      '[[proxies]]', // 5
      'name = "ssh"', // 6
      'type = "tcp"', // 7
      'localPortt = 22', // 8
      'transport.bandwidthLimit = "fast"', // 9
    ].join('\n')
    const e = issuesOf(() => parseClientConfig(text, 'frpc.toml', {}))
    expect(e.issues.map((i) => `${i.location.line}:${i.location.col} ${i.location.path}`)).toEqual([
      '1:14 serverAddr',
      '2:14 serverPort',
      '3:1 bogusKey',
      '5:1 proxies[0].localPort', // missing: the table that lacks it
      '8:1 proxies[0].localPortt',
      '9:28 proxies[0].transport.bandwidthLimit',
    ])
    expect(e.message).toContain('frpc.toml:8:1 proxies[0].localPortt: unknown key; did you mean localPort?')
  })

  it('places TOML syntax errors and never shows a secret', () => {
    const e = issuesOf(() => parseClientConfig('serverAddr = "x"\nserverPort = \n', 'frpc.toml', {}))
    expect(e.issues[0]).toMatchObject({ code: 'TUN_CONFIG_SYNTAX', location: { line: 2 } })
    const secret = issuesOf(() => parseClientConfig('serverAddr = "x"\nauth.token = "s3cret-value\n', 'frpc.toml', {}))
    expect(secret.issues[0]).toMatchObject({ code: 'TUN_CONFIG_SYNTAX', location: { line: 2 } })
    expect(secret.message).not.toContain('s3cret-value')
    const unset = issuesOf(() => parseClientConfig('auth.token = "{{ .Envs.NOT_SET_ANYWHERE }}"\n', 'frpc.toml', {}))
    expect(unset.issues[0]).toMatchObject({ code: 'TUN_CONFIG_ENV', location: { line: 1, col: 15 } })
  })

  it('tells client from server by TOML keys too', () => {
    expect(detectConfigKind('serverAddr = "x"\n', 'a.toml')).toBe('client')
    expect(detectConfigKind('[[proxies]]\nname = "a"\n', 'a.toml')).toBe('client')
    expect(detectConfigKind('bindPort = 7000\n', 'a.toml')).toBe('server')
  })
})

describe('toml-paths', () => {
  it('splits dotted and quoted keys, and refuses what is not a key', () => {
    expect(splitKey('a.b')).toEqual(['a', 'b'])
    expect(splitKey(' "x.y" . z ')).toEqual(['x.y', 'z'])
    expect(splitKey('a..b')).toBeUndefined()
    expect(splitKey('')).toBeUndefined()
  })

  it('records keys under tables and numbered array tables, with the nearest parent as fallback', () => {
    const text = 'a = 1\n[t]\nb.c = "x" # note\n[[p]]\nn = 1\n[[p]]\nn = 2\n[p.sub]\nk = 3\n'
    const offsets = tomlPathOffsets(text)
    const lineOf = (o: number | undefined): number => (o === undefined ? 0 : text.slice(0, o).split('\n').length)
    expect(lineOf(tomlOffsetOf(offsets, 'a', false))).toBe(1)
    expect(lineOf(tomlOffsetOf(offsets, 't.b.c', false))).toBe(3)
    expect(lineOf(tomlOffsetOf(offsets, 't.b', true))).toBe(3)
    expect(lineOf(tomlOffsetOf(offsets, 'p[0].n', false))).toBe(5)
    expect(lineOf(tomlOffsetOf(offsets, 'p[1].n', false))).toBe(7)
    expect(lineOf(tomlOffsetOf(offsets, 'p[1].missing', false))).toBe(6)
    expect(tomlOffsetOf(offsets, 'nowhere.at.all', false)).toBeUndefined()
  })
})

describe('frp legacy INI', () => {
  it('is read as frp converts it, whatever the extension says, with problems at the INI key', () => {
    const e = issuesOf(() => parseClientConfig('# old frpc.ini\n[common]\nserver_addr = 1.2.3.4\n\n[ssh]\ntype = tcp\nlocal_port = 22\nremote_port = 70000\n', 'frpc.toml', {}))
    expect(e.issues).toHaveLength(1)
    expect(e.issues[0]).toMatchObject({ code: 'TUN_CONFIG_RANGE', location: { line: 8, col: 15, path: 'ssh.remote_port (remotePort)' } })
  })
})
