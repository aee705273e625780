import { describe, it, expect } from 'vitest'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, type ErrorCode } from '../../shared/errors.js'
import { detectConfigKind, parseClientConfig, parseServerConfig, type ConfigWarning } from '../../shared/config/index.js'

const ROOT = join(import.meta.dirname, '..', '..')
const FIXTURES = join(ROOT, 'test', 'fixtures', 'configs')

/** The environment every fixture is loaded with (templated fixtures read these). */
const ENV: Record<string, string> = {
  FRP_TOKEN: 'fixture-token',
  RELAY_HOST: 'relay.test',
  RELAY_PORT: '7001',
  SSH_PORT: '22',
  REMOTE_PORT: '6000',
  LONG_VALUE: 'L'.repeat(50),
  MULTILINE: '1\nbindPort: 2',
  SSH_SECRET: 'fixture-secret-of-twenty-chars',
  WEB_PASSWORD: 'fixture-web-password',
  SOCKS_PASSWORD: 'fixture-socks-password',
}

/** Kind from content (falls back to the frpc-/frps- name prefix), then load. */
function load (path: string, file = path.split('/').at(-1) ?? path): { kind: string, warnings: ConfigWarning[] } {
  const text = readFileSync(path, 'utf8')
  const kind = detectConfigKind(text, path)
  const { warnings } = kind === 'server' ? parseServerConfig(text, file, ENV) : parseClientConfig(text, file, ENV)
  return { kind, warnings }
}

function failure (path: string): ConfigError {
  try {
    load(path)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error(`${path} loaded, but it should fail`)
}

const list = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.yml')).sort()
const kindOfName = (f: string): string => (f.startsWith('frps') ? 'server' : 'client')

/** Every invalid fixture: the first issue's code and line:col, and words its message must have. */
const INVALID: Record<string, { code: ErrorCode, at: string, says?: string, issues?: number }> = {
  'frps-typo-bindAdur.yml': { code: 'TUN_CONFIG_UNKNOWN_KEY', at: '2:1', says: 'did you mean bindAddr?' },
  'frpc-remote-port-range.yml': { code: 'TUN_CONFIG_RANGE', at: '12:17', says: 'proxies[1].remotePort: 70000 is outside 0-65535' },
  'frpc-udp-key-on-tcp.yml': { code: 'TUN_CONFIG_INVALID', at: '6:5', says: 'idleTimeout applies only to type udp proxies' },
  'frpc-group-on-udp.yml': { code: 'TUN_CONFIG_INVALID', at: '7:5', says: 'loadBalancer is offered on tcp, http and tcpmux proxies, not on udp', issues: 1 },
  'frps-auth-oidc.yml': { code: 'TUN_CONFIG_INVALID', at: '3:11', says: 'oidc is not supported', issues: 1 },
  'frpc-duplicate-name.yml': { code: 'TUN_CONFIG_INVALID', at: '5:13', says: 'proxy name ssh is already used by proxies[0] (line 3)' },
  'frpc-duplicate-remote-port.yml': { code: 'TUN_CONFIG_INVALID', at: '10:17', says: 'remotePort 6000 is already used' },
  'frpc-missing-local-port.yml': { code: 'TUN_CONFIG_INVALID', at: '3:5', says: 'proxies[0].localPort: is missing' },
  'frpc-bad-proxy-name.yml': { code: 'TUN_CONFIG_INVALID', at: '3:11', says: 'is longer than 64 characters' },
  'frpc-empty-proxy-name.yml': { code: 'TUN_CONFIG_INVALID', at: '3:11', says: 'must not be empty' },
  'frps-syntax-indent.yml': { code: 'TUN_CONFIG_SYNTAX', at: '3:11' },
  'frps-duplicate-key.yml': { code: 'TUN_CONFIG_SYNTAX', at: '3:1', says: 'appears twice' },
  'frpc-env-unset.yml': { code: 'TUN_CONFIG_ENV', at: '3:11', says: 'TUNNEL_TEST_UNSET_TOKEN is not set' },
  'frpc-env-newline.yml': { code: 'TUN_CONFIG_ENV', at: '2:13', says: 'MULTILINE contains a line break' },
  'frpc-template-unsupported.yml': { code: 'TUN_CONFIG_INVALID', at: '2:13', says: 'only {{ .Envs.NAME }}' },
  'frpc-includes.yml': { code: 'TUN_CONFIG_READ', at: '2:12', says: 'includes[0]: the folder confd does not exist' },
  'frps-allow-ports-reversed.yml': { code: 'TUN_CONFIG_INVALID', at: '3:5', says: 'start 7100 is after end 7000' },
  'frpc-heartbeat-timeout-short.yml': { code: 'TUN_CONFIG_INVALID', at: '4:21', says: 'shorter than heartbeatInterval' },
  'frpc-protocol-kcp.yml': { code: 'TUN_CONFIG_INVALID', at: '3:13', says: 'kcp is not supported' },
  'frpc-server-port-string.yml': { code: 'TUN_CONFIG_INVALID', at: '2:13', says: 'must be a number' },
  'frpc-top-level-list.yml': { code: 'TUN_CONFIG_INVALID', at: '1:1', says: 'must be a mapping' },
  'frps-bind-port-negative.yml': { code: 'TUN_CONFIG_RANGE', at: '2:11', says: '-1 is outside 0-65535' },
  'frpc-server-key.yml': { code: 'TUN_CONFIG_UNKNOWN_KEY', at: '2:1', says: 'is a server setting' },
  'frpc-after-env-substitution.yml': { code: 'TUN_CONFIG_UNKNOWN_KEY', at: '2:42', says: 'did you mean token?' },
  'frpc-login-fail-exit-yes.yml': { code: 'TUN_CONFIG_INVALID', at: '2:16', says: 'must be true or false' },
  'frpc-snake-case.yml': { code: 'TUN_CONFIG_UNKNOWN_KEY', at: '1:1', says: 'did you mean serverAddr?' },
  'frpc-bandwidth-unit.yml': { code: 'TUN_CONFIG_INVALID', at: '7:23', says: 'proxies[0].transport.bandwidthLimit: the unit must be KB or MB', issues: 1 },
}

describe('configs/ examples', () => {
  const dir = join(ROOT, 'configs')
  for (const f of list(dir)) {
    it(`${f} loads as a ${kindOfName(f)} config`, () => {
      const { kind } = load(join(dir, f), join(dir, f)) // the whole path: includes are relative to it
      expect(kind).toBe(kindOfName(f))
    })
    it(`${f} has a yaml-language-server modeline for its JSON Schema`, () => {
      const schema = kindOfName(f) === 'server' ? 'frps.schema.json' : 'frpc.schema.json' // frpc-udp.yml uses frpc's
      expect(readFileSync(join(dir, f), 'utf8')).toContain(`# yaml-language-server: $schema=./${schema}`)
    })
  }
})

describe('configs/ legacy INI examples (frp\'s frpc.ini / frps.ini)', () => {
  const dir = join(ROOT, 'configs')
  const ini = readdirSync(dir).filter((f) => f.endsWith('.ini')).sort()
  it('has one for each side', () => {
    expect(ini).toEqual(['frpc.ini', 'frps.ini'])
  })
  for (const f of ini) {
    it(`${f} loads as a ${kindOfName(f)} config without warnings`, () => {
      const { kind, warnings } = load(join(dir, f), join(dir, f))
      expect(kind).toBe(kindOfName(f))
      expect(warnings).toEqual([])
    })
  }
})

describe('valid fixtures', () => {
  const dir = join(FIXTURES, 'valid')
  for (const f of list(dir)) {
    it(`${f} loads as a ${kindOfName(f)} config`, () => {
      expect(load(join(dir, f)).kind).toBe(kindOfName(f))
    })
  }
})

describe('invalid fixtures', () => {
  const dir = join(FIXTURES, 'invalid')

  it('each file in invalid/ has an expectation in the table, and each row a file', () => {
    expect(list(dir)).toEqual(Object.keys(INVALID).sort())
  })

  for (const [f, want] of Object.entries(INVALID)) {
    it(`${f} fails with ${want.code} at ${want.at}`, () => {
      const err = failure(join(dir, f))
      const first = err.issues[0]
      expect(err.code).toBe(want.code)
      expect(first?.code).toBe(want.code)
      expect(`${first?.location.line}:${first?.location.col}`).toBe(want.at)
      expect(first?.location.file).toBe(f)
      expect(err.message.split('\n')[0]).toMatch(new RegExp(`^${f.replaceAll('.', '\\.')}:${want.at} `))
      if (want.says !== undefined) expect(err.message).toContain(want.says)
      if (want.issues !== undefined) expect(err.issues).toHaveLength(want.issues)
    })
  }
})
