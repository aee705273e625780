// Key settings at config load: base64 32-byte keys with file:line:col errors that never echo
// the value, the private key file's mode, and one of privateKey / privateKeyFile.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { parseClientConfig, parseServerConfig } from '../../shared/config/index.js'
import { ConfigError } from '../../shared/errors.js'
import { newKeyPair } from '../../shared/transport/keys.js'

const dir = mkdtempSync(join(tmpdir(), 'tunnel-keys-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })
const keys = newKeyPair()

function error (f: () => unknown): ConfigError {
  try { f() } catch (err) { if (err instanceof ConfigError) return err; throw err }
  throw new Error('no ConfigError')
}

describe('relay key settings', () => {
  it('an inline private key loads as a masked secret that never prints', () => {
    const { config } = parseServerConfig(`auth:\n  token: t\n  privateKey: "${keys.privateKey}"\n`, 'frps.yml', {})
    expect(Buffer.from(config.auth.privateKey?.reveal() ?? []).toString('base64')).toBe(keys.privateKey)
    for (const shown of [JSON.stringify(config), inspect(config, { depth: 5 }), String(config.auth.privateKey)]) {
      expect(shown).not.toContain(keys.privateKey)
      expect(shown).toContain('[redacted]')
    }
  })

  it('a malformed private key is refused at its line without echoing it', () => {
    const bad = keys.privateKey.slice(0, 30)
    const err = error(() => parseServerConfig(`auth:\n  token: t\n  privateKey: "${bad}"\n`, 'frps.yml', {}))
    expect(err.message).toMatch(/^frps\.yml:3:15 auth\.privateKey: the private key must be 32 bytes of base64 .*decodes to 22 bytes \(TUN_CONFIG_INVALID\)$/)
    expect(err.message).not.toContain(bad)
  })

  it('a key file must be private (mode 0600); a relative path is relative to the config file', () => {
    const file = join(dir, 'relay.key')
    writeFileSync(file, `# tunnel relay key\n${keys.privateKey}\n`)
    chmodSync(file, 0o644)
    const err = error(() => parseServerConfig('auth:\n  privateKeyFile: relay.key\n', join(dir, 'frps.yml'), {}))
    expect(err.message).toContain('frps.yml:2:19 auth.privateKeyFile:')
    expect(err.message).toContain('(mode 0644); run: chmod 600')
    chmodSync(file, 0o600)
    const { config } = parseServerConfig('auth:\n  privateKeyFile: relay.key\n', join(dir, 'frps.yml'), {})
    expect(Buffer.from(config.auth.privateKey?.reveal() ?? []).toString('base64')).toBe(keys.privateKey)
  })

  it('a missing key file, a file with no key, and both settings at once are refused', () => {
    expect(error(() => parseServerConfig('auth:\n  privateKeyFile: nope.key\n', join(dir, 'frps.yml'), {})).message).toContain('does not exist')
    const empty = join(dir, 'empty.key')
    writeFileSync(empty, '\n', { mode: 0o600 })
    expect(error(() => parseServerConfig(`auth:\n  privateKeyFile: ${empty}\n`, 'frps.yml', {})).message).toContain('decodes to 0 bytes')
    expect(error(() => parseServerConfig(`auth:\n  privateKey: "${keys.privateKey}"\n  privateKeyFile: x\n`, 'frps.yml', {})).message).toContain('not both')
  })

  it('transport keys have defaults and ranges; insecurePlaintext warns', () => {
    const { config, warnings } = parseServerConfig('auth: { token: t }\ntransport:\n  handshakeTimeout: 3\n  maxClockSkew: 30\n  insecurePlaintext: true\n', 'frps.yml', {})
    expect(config.transport).toMatchObject({ handshakeTimeout: 3, maxClockSkew: 30, insecurePlaintext: true })
    expect(warnings.map((w) => w.message).join()).toContain('unencrypted')
    expect(error(() => parseServerConfig('transport:\n  handshakeTimeout: 0\n', 'frps.yml', {})).code).toBe('TUN_CONFIG_RANGE')
  })
})

describe('client key settings', () => {
  it('auth.serverKey pins the relay; a bad one is refused at its line', () => {
    const { config } = parseClientConfig(`auth:\n  token: t\n  serverKey: "${keys.publicKey}"\nproxies: [{ name: a, type: tcp, localPort: 1 }]\n`, 'frpc.yml', {})
    expect(Buffer.from(config.auth.serverKey ?? []).toString('base64')).toBe(keys.publicKey)
    expect(config.transport).toMatchObject({ handshakeTimeout: 10, insecurePlaintext: false })
    const err = error(() => parseClientConfig('auth:\n  serverKey: "not a key!"\n', 'frpc.yml', {}))
    expect(err.message).toBe('frpc.yml:2:14 auth.serverKey: the relay\'s public key is not base64 (TUN_CONFIG_INVALID)')
  })

  it('a relay key in a client file is an unknown key there, and the other way round', () => {
    expect(error(() => parseClientConfig(`auth:\n  privateKey: "${keys.privateKey}"\n`, 'frpc.yml', {})).code).toBe('TUN_CONFIG_UNKNOWN_KEY')
    expect(error(() => parseServerConfig(`auth:\n  serverKey: "${keys.publicKey}"\n`, 'frps.yml', {})).code).toBe('TUN_CONFIG_UNKNOWN_KEY')
    expect(error(() => parseClientConfig(`auth:\n  privateKey: "${keys.privateKey}"\n`, 'frpc.yml', {})).message).not.toContain(keys.privateKey)
  })
})
