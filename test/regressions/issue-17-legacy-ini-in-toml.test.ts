// Issue 17: a file with frp's legacy INI `[common]` section named frpc.toml (frp picks the format
// by the content, so users keep old files under new names) got "common: unknown key" or a TOML
// syntax error instead of the legacy-INI hint. Now every format says it is legacy INI, at the
// `[common]` line, with the v1 names of the keys it uses and what to do.
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
  it('gives the legacy hint for a .toml with [common], once, at its line, naming the keys to rename', () => {
    const text = '# my frpc\n[common]\nserver_addr = 1.2.3.4\nserver_port = 7000\ntoken = abc\n\n[ssh]\ntype = tcp\nlocal_port = 22\nremote_port = 6000\n'
    for (const file of ['frpc.toml', 'frpc.yml', 'frpc.json', 'frpc.ini']) {
      const e = refusal(() => parseClientConfig(text, file, {}))
      expect(e.issues).toHaveLength(1)
      expect(e.message).toMatch(new RegExp(`^${file.replace('.', '\\.')}:2:1 this is frp's legacy INI format`))
      expect(e.message).toContain('server_addr → serverAddr, server_port → serverPort, token → auth.token, local_port → localPort, remote_port → remotePort')
      expect(e.message).toContain('each [name] section becomes an entry of proxies')
    }
  })

  it('refuses frp\'s own legacy example files the same way', () => {
    expect(refusal(() => parseClientConfig(readFileSync(join(LEGACY, 'frpc_legacy_full.ini'), 'utf8'), 'frpc.toml', {})).message).toContain('legacy INI format')
    expect(refusal(() => parseServerConfig(readFileSync(join(LEGACY, 'frps_legacy_full.ini'), 'utf8'), 'frps.toml', {})).message).toContain('bind_port → bindPort')
  })
})
