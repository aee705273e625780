// auth.tokenSource at load: the token comes from the file (trimmed, relative to the config's
// folder) on both sides; every way it can be wrong is refused at its key's line:col.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseClientConfig, parseServerConfig } from '../../shared/config/index.js'
import { configErrorLines } from '../helpers/config-errors.js'

const dir = mkdtempSync(join(tmpdir(), 'tunnel-token-source-'))
writeFileSync(join(dir, 'good.token'), '\n  tok-from-file \n', { mode: 0o600 })
writeFileSync(join(dir, 'blank.token'), ' \n\t\n', { mode: 0o600 })
writeFileSync(join(dir, 'huge.token'), 'x'.repeat(5000), { mode: 0o600 })
const frps = join(dir, 'frps.yml')
const frpc = join(dir, 'frpc.yml')

const problems = configErrorLines

const source = (path: string): string => `auth:\n  tokenSource:\n    type: file\n    file:\n      path: ${path}\n`

describe('auth.tokenSource', () => {
  it('reads the relay\'s and the client\'s token from a file relative to the config, trimmed', () => {
    expect(parseServerConfig(`bindPort: 7000\n${source('good.token')}`, frps, {}).config.auth.token).toBe('tok-from-file')
    expect(parseClientConfig(`serverPort: 7000\n${source(join(dir, 'good.token'))}proxies: []\n`, frpc, {}).config.auth.token).toBe('tok-from-file')
  })

  it('does not warn that the token is empty when it comes from a file', () => {
    const { warnings } = parseServerConfig(`bindPort: 7000\n${source('good.token')}`, frps, {})
    expect(warnings.map((w) => w.message).filter((m) => m.includes('auth.token is empty'))).toEqual([])
  })

  it('refuses a missing, empty or oversized token file at the path\'s line:col', () => {
    expect(problems(() => parseServerConfig(`bindPort: 7000\n${source('nope.token')}`, frps, {}))).toEqual([`${frps}:6:13 auth.tokenSource.file.path: ${join(dir, 'nope.token')} does not exist (TUN_CONFIG_INVALID)`])
    expect(problems(() => parseServerConfig(`bindPort: 7000\n${source('blank.token')}`, frps, {}))[0]).toMatch(/auth\.tokenSource\.file\.path: .*blank\.token is empty/)
    expect(problems(() => parseServerConfig(`bindPort: 7000\n${source('huge.token')}`, frps, {}))[0]).toMatch(/huge\.token is 5000 bytes, too long for a token file/)
  })

  it('refuses auth.token beside tokenSource, type exec, and type file without a path', () => {
    const both = problems(() => parseServerConfig(`bindPort: 7000\nauth:\n  token: x\n  tokenSource: { type: file, file: { path: good.token } }\n`, frps, {}))
    expect(both).toEqual([`${frps}:4:16 auth.tokenSource: auth.token and auth.tokenSource are both set: keep one (frp refuses both too) (TUN_CONFIG_INVALID)`])
    const exec = problems(() => parseClientConfig('serverPort: 7000\nauth:\n  tokenSource:\n    type: exec\n    exec: { command: cat, args: [/etc/token] }\nproxies: []\n', frpc, {}))
    expect(exec.join('\n')).toMatch(/4:11 auth\.tokenSource\.type: type exec is not supported: a config file does not run programs here/)
    expect(problems(() => parseClientConfig('serverPort: 7000\nauth:\n  tokenSource: { type: file }\nproxies: []\n', frpc, {})).join('\n')).toMatch(/auth\.tokenSource: type file needs file\.path/)
    expect(problems(() => parseClientConfig('serverPort: 7000\nauth:\n  tokenSource: { type: vault }\nproxies: []\n', frpc, {})).join('\n')).toMatch(/auth\.tokenSource\.type/)
  })
})
