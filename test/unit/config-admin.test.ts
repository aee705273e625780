// webServer (frp's admin API keys plus our token) and enablePrometheus in frps.yml / frpc.yml:
// defaults, the bind rule as a config error with its place, the refused and ignored frp keys.
import { describe, expect, it } from 'vitest'
import { parseClientConfig, parseServerConfig } from '../../shared/config/index.js'
import { ConfigError } from '../../shared/errors.js'

const server = (text: string): ReturnType<typeof parseServerConfig> => parseServerConfig(text, 'frps.yml', {})
const client = (text: string): ReturnType<typeof parseClientConfig> => parseClientConfig(text, 'frpc.yml', {})

function failure (fn: () => unknown): ConfigError {
  try { fn() } catch (err) { if (err instanceof ConfigError) return err; throw err }
  throw new Error('expected a ConfigError')
}

describe('webServer', () => {
  it('is off (null) unless webServer.port is set; addr defaults to 127.0.0.1', () => {
    expect(server('auth: { token: t }').config.webServer).toBeNull()
    expect(server('webServer:\n  port: 7500\n').config).toMatchObject({ webServer: { addr: '127.0.0.1', port: 7500, user: '', password: '', token: '' }, enablePrometheus: false })
    expect(client('webServer:\n  port: 0\n  token: abc\n').config.webServer).toEqual({ addr: '127.0.0.1', port: 0, user: '', password: '', token: 'abc' })
    expect(server('webServer: { port: 7500 }\nenablePrometheus: true').config.enablePrometheus).toBe(true)
  })

  it('warns about a non-loopback addr without credentials, at the addr, saying it serves /metrics only, without repeating secrets', () => {
    const { config, warnings } = server('auth:\n  token: s3cret-token\nwebServer:\n  addr: 0.0.0.0\n  port: 7500\nenablePrometheus: true\n')
    expect(config.webServer?.addr).toBe('0.0.0.0')
    const open = warnings.filter((w) => w.location.path === 'webServer.addr')
    expect(open.map((w) => `${w.location.line}:${w.location.col}`)).toEqual(['4:9'])
    expect(open[0]?.message).toMatch(/^webServer\.addr 0\.0\.0\.0 is not a loopback address and the admin API has no credentials: it serves only \/metrics .* answers 401 to everything else \(the dashboard, \/api\/\*\); set webServer\.user and webServer\.password/)
    expect(JSON.stringify(warnings)).not.toContain('s3cret-token')
    expect(client('webServer: { addr: "::", port: 7400 }').warnings.some((w) => w.message.startsWith('webServer.addr :: is not a loopback address'))).toBe(true)
  })

  it('accepts a non-loopback addr with a password or a token', () => {
    expect(server('webServer:\n  addr: 0.0.0.0\n  port: 7500\n  user: admin\n  password: pw\n').config.webServer?.addr).toBe('0.0.0.0')
    expect(client('webServer:\n  addr: "::"\n  port: 7400\n  token: tk\n').config.webServer?.token).toBe('tk')
  })

  it('a user without a password is an error at the user', () => {
    const err = failure(() => server('webServer:\n  port: 7500\n  user: admin\n'))
    expect(err.issues[0]).toMatchObject({ code: 'TUN_CONFIG_INVALID', location: { line: 3, col: 9, path: 'webServer.user' } })
  })

  it('refuses webServer.tls with a reason; warns about assetsDir, pprofEnable, a block without port, and enablePrometheus without it', () => {
    const tls = failure(() => server('webServer:\n  port: 7500\n  tls:\n    certFile: a.pem\n'))
    expect(tls.issues[0]).toMatchObject({ code: 'TUN_CONFIG_UNKNOWN_KEY', location: { path: 'webServer.tls' } })
    expect(tls.message).toContain('plain HTTP')
    const { warnings } = server('auth: { token: t }\nwebServer:\n  addr: 127.0.0.1\n  assetsDir: ./static\nenablePrometheus: true\n')
    expect(warnings.map((w) => w.message)).toEqual([
      'webServer has no port: the admin API stays off (set webServer.port)',
      'webServer.assetsDir is an frp setting this tunnel ignores: there is no web dashboard; the admin API serves JSON and metrics only',
      'enablePrometheus needs the admin API: set webServer.port to serve /metrics',
    ])
  })

  it('enablePrometheus is a relay key only', () => {
    expect(failure(() => client('enablePrometheus: true')).issues[0]?.message).toContain('server setting')
  })
})
