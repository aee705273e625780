// Issue 17: an `auth.oidc` block was refused even with `auth.method: token`, where frp never
// reads it (frp's own full example frps.toml has one). Now it is ignored with a warning under
// method token, on both sides; `auth.method: oidc` stays refused, once, with the reason.
import { describe, expect, it } from 'vitest'
import { parseClientConfig, parseServerConfig } from '../../shared/config/index.js'
import { ConfigError } from '../../shared/errors.js'

const OIDC_BLOCK = 'auth.oidc.issuer = ""\nauth.oidc.audience = ""\nauth.oidc.skipExpiryCheck = false\n'

function refusal (load: () => unknown): ConfigError {
  try {
    load()
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('loaded, but should not')
}

describe('issue 17: auth.oidc', () => {
  it('is ignored with a warning when auth.method is token (stated or by default), on the relay and the client', () => {
    for (const method of ['auth.method = "token"\n', '']) {
      const relay = parseServerConfig(`bindPort = 7000\n${method}auth.token = "t"\n${OIDC_BLOCK}`, 'frps.toml', {})
      expect(relay.warnings.map((w) => w.message)).toEqual(['auth.oidc is an frp setting this tunnel ignores: auth.method is token, so it is never read (frp ignores it then too)'])
      expect(relay.config.auth.method).toBe('token')
    }
    const client = parseClientConfig('auth:\n  token: t\n  oidc:\n    clientID: x\n    clientSecret: very-secret\nproxies: [{ name: a, type: tcp, localPort: 1 }]\n', 'frpc.yml', {})
    expect(client.warnings.map((w) => `${w.location.line}:${w.location.col} ${w.location.path}`)).toEqual(['3:3 auth.oidc'])
  })

  it('is refused with auth.method oidc, once, saying why', () => {
    const e = refusal(() => parseServerConfig(`auth.method = "oidc"\n${OIDC_BLOCK}`, 'frps.toml', {}))
    expect(e.issues).toHaveLength(1)
    expect(e.message).toMatch(/^frps\.toml:1:15 auth\.method: oidc is not supported: clients here prove themselves with auth\.token .* never an OIDC token, so this file would run without the authentication it asks for; use auth\.method token \(TUN_CONFIG_INVALID\)$/)
    const c = refusal(() => parseClientConfig('auth:\n  method: oidc\n  oidc: { clientSecret: very-secret }\n', 'frpc.yml', {}))
    expect(c.issues.map((i) => i.location.path)).toEqual(['auth.method'])
    expect(c.message).not.toContain('very-secret')
  })
})
