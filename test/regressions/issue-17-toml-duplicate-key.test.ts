// Issue 17: a key written twice in a TOML file gave the TOML library's "trying to redefine an
// already defined table or value", without saying which key or where the first one is. Now the
// error names the key (as a path) at its second line and gives the line of the first, for values,
// tables and a table that dotted keys already made; secrets stay out of the message.
import { describe, expect, it } from 'vitest'
import { parseClientConfig, parseServerConfig } from '../../shared/config/index.js'
import { ConfigError } from '../../shared/errors.js'

function message (load: () => unknown): string {
  try {
    load()
  } catch (err) {
    if (err instanceof ConfigError) return err.message
    throw err
  }
  throw new Error('loaded, but should not')
}

describe('issue 17: a duplicate TOML key is named with its line', () => {
  it('names a repeated value, with the line of the first', () => {
    expect(message(() => parseServerConfig('bindAddr = "::"\nbindPort = 7000\nbindPort = 7001\n', 'frps.toml', {})))
      .toBe('frps.toml:3:1 bindPort: is defined twice: first on line 2, again on line 3; keep one (TOML allows a key or table once) (TUN_CONFIG_SYNTAX)')
  })

  it('names a repeated table, and a table that dotted keys already made', () => {
    expect(message(() => parseServerConfig('[webServer]\nport = 7500\n\n[webServer]\nuser = "admin"\n', 'frps.toml', {})))
      .toMatch(/^frps\.toml:4:1 webServer: is defined twice: first on line 1, again on line 4;/)
    expect(message(() => parseServerConfig('webServer.port = 7500\n[webServer]\nuser = "admin"\n', 'frps.toml', {})))
      .toMatch(/^frps\.toml:2:1 webServer: is defined twice: first on line 1, again on line 2;/)
  })

  it('names a key repeated inside a [[proxies]] table by its proxy', () => {
    expect(message(() => parseClientConfig('[[proxies]]\nname = "a"\n\n[[proxies]]\nname = "b"\ntype = "tcp"\nname = "c"\n', 'frpc.toml', {})))
      .toMatch(/^frpc\.toml:7:1 proxies\[1\]\.name: is defined twice: first on line 5, again on line 7;/)
  })

  it('never shows a repeated secret\'s value', () => {
    const m = message(() => parseClientConfig('auth.token = "first-secret"\nauth.token = "second-secret"\n', 'frpc.toml', {}))
    expect(m).toMatch(/^frpc\.toml:2:1 auth\.token: is defined twice/)
    expect(m).not.toMatch(/first-secret|second-secret/)
  })
})
