// Issue 17: a file with frp's legacy INI `[common]` section named frpc.toml (frp picks the format
// by the content, so users keep old files under new names) got "common: unknown key" or a TOML
// syntax error. Then it got a legacy-INI hint; now it is read, as frp reads it: by its content,
// whatever its extension, with problems at the INI key's line:col.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseClientConfig, parseServerConfig } from '../../shared/config/index.js'
import { ConfigError } from '../../shared/errors.js'

const LEGACY = join(import.meta.dirname, '..', 'fixtures', 'frp', 'legacy')

function refusal (load: () => unknown): ConfigError {
  try {
    load()
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('loaded, but should not')
}

describe('issue 17: legacy INI under any extension', () => {
  it('reads a .toml, .yml or .json with [common] as legacy INI, like a .ini', () => {
    const text = '# my frpc\n[common]\nserver_addr = 1.2.3.4\nserver_port = 7000\ntoken = abc\n\n[ssh]\ntype = tcp\nlocal_port = 22\nremote_port = 6000\n'
    for (const file of ['frpc.toml', 'frpc.yml', 'frpc.json', 'frpc.ini']) {
      const { config } = parseClientConfig(text, file, {})
      expect(config.serverAddr, file).toBe('1.2.3.4')
      expect(config.auth.token, file).toBe('abc')
      expect(config.proxies.map((p) => [p.name, p.type, p.localPort]), file).toEqual([['ssh', 'tcp', 22]])
    }
  })

  it('reports a problem of such a file at the INI key, naming it', () => {
    const e = refusal(() => parseClientConfig('[common]\nserver_port = seven\n', 'frpc.toml', {}))
    expect(e.message).toMatch(/^frpc\.toml:2:15 common\.server_port \(serverPort\): /)
  })

  it('reads frp\'s own legacy example files under a .toml name as under their .ini name', () => {
    const server = readFileSync(join(LEGACY, 'frps_legacy_full.ini'), 'utf8')
    expect(parseServerConfig(server, 'frps.toml', {}).config.bindPort).toBe(7000)
    // frpc's example names certificates next to it that do not exist: refused for those alone.
    const e = refusal(() => parseClientConfig(readFileSync(join(LEGACY, 'frpc_legacy_full.ini'), 'utf8'), join(LEGACY, 'frpc.toml'), {}))
    expect(e.issues.every((i) => /plugin\.(crtPath|keyPath)\): .* does not exist/.test(`${i.location.path}: ${i.message}`))).toBe(true)
  })
})
