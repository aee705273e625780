// frps.yml's fleet block: defaults, paths, the cross-field errors and the warning for plaintext
// etcd off loopback, and `tunnel verify` on a fleet relay's file.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runVerify } from '../../cli/commands/verify.js'
import { detectConfigKind, parseClientConfig, parseServerConfig } from '../../shared/config/index.js'
import { configErrorLines } from '../helpers/config-errors.js'

const server = (text: string): ReturnType<typeof parseServerConfig> => parseServerConfig(text, '/etc/tunnel/frps.yml', {})

const issues = configErrorLines

const FLEET = `fleet:
  nodeName: relay-a
  advertiseAddr: 10.0.0.1:7000
  etcd:
    endpoints: [https://10.0.0.5:2379, https://10.0.0.6:2379]
    caFile: etcd-ca.pem
    certFile: relay-a.pem
    keyFile: relay-a-key.pem
`

describe('frps.yml fleet block', () => {
  it('is null without a fleet block: a single relay needs no store', () => {
    expect(server('bindPort: 7000\n').config.fleet).toBeNull()
  })

  it('fills in the prefix and request timeout and resolves TLS files against the file\'s folder', () => {
    const { config } = server(FLEET)
    expect(config.fleet).toEqual({
      nodeName: 'relay-a',
      advertiseAddr: '10.0.0.1:7000',
      etcd: { endpoints: ['https://10.0.0.5:2379', 'https://10.0.0.6:2379'], prefix: '/tunnel/', caFile: '/etc/tunnel/etcd-ca.pem', certFile: '/etc/tunnel/relay-a.pem', keyFile: '/etc/tunnel/relay-a-key.pem', requestTimeout: 3 },
    })
  })

  it('takes the host name as nodeName when none is given, and ends the prefix with a slash', () => {
    const { config } = server('fleet:\n  advertiseAddr: 127.0.0.1:7000\n  etcd:\n    endpoints: [http://127.0.0.1:2379]\n    prefix: /prod\n')
    expect(config.fleet?.nodeName).toMatch(/^[A-Za-z0-9._-]{1,64}$/)
    expect(config.fleet?.etcd.prefix).toBe('/prod/')
  })

  it('requires advertiseAddr and endpoints, each in its shape', () => {
    expect(issues(() => server('fleet:\n  etcd:\n    endpoints: [http://127.0.0.1:2379]\n')).join('\n')).toMatch(/advertiseAddr/)
    expect(issues(() => server('fleet:\n  advertiseAddr: 10.0.0.1\n  etcd:\n    endpoints: [http://127.0.0.1:2379]\n')).join('\n')).toMatch(/advertiseAddr must be host:port/)
    expect(issues(() => server('fleet:\n  advertiseAddr: 10.0.0.1:7000\n  etcd:\n    endpoints: [127.0.0.1:2379]\n')).join('\n')).toMatch(/http:\/\/ or https:\/\//)
  })

  it('refuses a client certificate without its key, TLS files with http endpoints, and mixed schemes', () => {
    expect(issues(() => server(FLEET.replace('    keyFile: relay-a-key.pem\n', ''))).join('\n')).toMatch(/certFile and fleet.etcd.keyFile go together/)
    expect(issues(() => server(FLEET.replaceAll('https://', 'http://'))).join('\n')).toMatch(/caFile needs https:\/\/ endpoints/)
    expect(issues(() => server(FLEET.replace('https://10.0.0.6', 'http://10.0.0.6'))).join('\n')).toMatch(/mixes http:\/\/ and https:\/\//)
  })

  it('warns about plain http to etcd off loopback, not on loopback', () => {
    const off = server('fleet:\n  advertiseAddr: 10.0.0.1:7000\n  etcd:\n    endpoints: [http://10.0.0.5:2379]\n')
    expect(off.warnings.map((w) => w.message).join('\n')).toMatch(/plain http off loopback/)
    const lo = server('fleet:\n  advertiseAddr: 10.0.0.1:7000\n  etcd:\n    endpoints: [http://127.0.0.1:2379]\n')
    expect(lo.warnings.map((w) => w.message).join('\n')).not.toMatch(/plain http/)
  })

  it('warns that a fleet relay without a relay key opens no inter-relay links, and not when it has one', () => {
    const bare = server('fleet:\n  advertiseAddr: 10.0.0.1:7000\n  etcd:\n    endpoints: [http://127.0.0.1:2379]\n')
    expect(bare.warnings.map((w) => w.message).join('\n')).toMatch(/opens no inter-relay links/)
    const keyed = server('auth:\n  privateKey: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="\nfleet:\n  advertiseAddr: 10.0.0.1:7000\n  etcd:\n    endpoints: [http://127.0.0.1:2379]\n')
    expect(keyed.warnings.map((w) => w.message).join('\n')).not.toMatch(/inter-relay links/)
  })

  it('is a relay\'s file with bindPort beside it, and tunnel verify accepts it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleet-verify-'))
    const file = join(dir, 'relay.yml')
    writeFileSync(file, 'bindPort: 7000\nfleet:\n  nodeName: a\n  advertiseAddr: 127.0.0.1:7000\n  etcd:\n    endpoints: [http://127.0.0.1:2379]\n')
    expect(detectConfigKind('bindPort: 7000\nfleet:\n  nodeName: a\n', file)).toBe('server')
    const out: string[] = []
    const code = await runVerify(file, { stdout: (s) => out.push(s), stderr: (s) => out.push(s) }, { strict: false })
    expect(code).toBe(0)
  })
})

describe('frpc.yml fleet block', () => {
  const client = (text: string): ReturnType<typeof parseClientConfig> => parseClientConfig(text, 'frpc.yml', {})

  it('is null without a fleet block: one connection to serverAddr', () => {
    expect(client('serverAddr: relay.example.com\n').config.fleet).toBeNull()
  })

  it('keeps two connections by default and reads servers as host:port (IPv6 in brackets)', () => {
    expect(client('fleet:\n  servers: [relay1.example.com:7000, "[2001:db8::1]:7000"]\n').config.fleet).toEqual({ servers: [{ host: 'relay1.example.com', port: 7000 }, { host: '2001:db8::1', port: 7000 }], connections: 2 })
    expect(client('fleet: {}\n').config.fleet).toEqual({ servers: [], connections: 2 })
  })

  it('refuses a server that is not host:port, one listed twice, and connections outside 1-8', () => {
    expect(issues(() => client('fleet:\n  servers: [relay1.example.com]\n')).join('\n')).toMatch(/fleet.servers entries are host:port/)
    expect(issues(() => client('fleet:\n  servers: [a.example:7000, A.example:7000]\n')).join('\n')).toMatch(/listed twice/)
    expect(issues(() => client('fleet:\n  connections: 9\n')).join('\n')).toMatch(/fleet.connections/)
  })
})
