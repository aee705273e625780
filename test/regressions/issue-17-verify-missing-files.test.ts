// Issue 17: Files a config names (transport.tls.*, a plugin's crtPath/keyPath, auth.tokenSource's file) that
// are not on this machine: `tunnel verify` warns at the key's line:col (it may run elsewhere than
// where the file deploys, and frp's verify does not read them); the relay and client (start and
// reload load the same way) refuse them with the file:line:col error. A file that is there but
// unusable is an error in both modes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runVerify } from '../../cli/commands/verify.js'
import { reloadFromFile } from '../../client/index.js'
import { silentLogger } from '../../shared/log.js'
import { loadClientConfig, loadServerConfig, parseClientConfig, parseServerConfig } from '../../shared/config/index.js'
import { configErrorLines } from '../helpers/config-errors.js'

const TLS = join(import.meta.dirname, '..', 'fixtures', 'tls', 'transport')
const dir = mkdtempSync(join(tmpdir(), 'tunnel-missing-files-'))
writeFileSync(join(dir, 'blank.token'), '\n', { mode: 0o600 })
writeFileSync(join(dir, 'junk.crt'), 'not a certificate\n')
const frps = join(dir, 'frps.yml')
const frpc = join(dir, 'frpc.yml')
const VERIFY = { missingFiles: 'warn' } as const

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

const serverTls = (cert: string): string => `bindPort: 7000\nauth:\n  token: t\ntransport:\n  tls:\n    certFile: ${cert}\n    keyFile: ${join(TLS, 'relay.key')}\n`
const tokenFile = (path: string): string => `bindPort: 7000\nauth:\n  tokenSource:\n    type: file\n    file:\n      path: ${path}\n`
const pluginClient = (crt: string): string => [
  'serverPort: 7000', 'auth:', '  token: t', 'proxies:', '  - name: web', '    type: https', '    customDomains: [a.example.test]', '    plugin:',
  '      type: https2http', '      localAddr: 127.0.0.1:8080', `      crtPath: ${crt}`, `      keyPath: ${join(TLS, 'relay.key')}`, '',
].join('\n')

describe('issue 17: a file a key names that is not on this machine', () => {
  it('is a warning in verify mode, at the key\'s line:col, saying the relay will refuse to start until it exists', () => {
    const { warnings } = parseServerConfig(serverTls('nope.crt'), frps, {}, VERIFY)
    const missing = warnings.filter((w) => w.message.includes('not on this machine'))
    expect(missing.map((w) => [w.location.line, w.location.col, w.message])).toEqual([[6, 15, `transport.tls.certFile names a file that is not on this machine (${join(dir, 'nope.crt')} does not exist): the relay refuses to start until it exists there`]])
  })

  it('is refused with the same file:line:col error when the relay or client loads it to start or reload', async () => {
    expect(configErrorLines(() => parseServerConfig(serverTls('nope.crt'), frps, {}))).toEqual([`${frps}:6:15 transport.tls.certFile: ${join(dir, 'nope.crt')} does not exist (TUN_CONFIG_INVALID)`])
    writeFileSync(frps, tokenFile('nope.token'))
    await expect(loadServerConfig(frps, {})).rejects.toThrow(`${frps}:6:13 auth.tokenSource.file.path: ${join(dir, 'nope.token')} does not exist (TUN_CONFIG_INVALID)`)
    writeFileSync(frpc, pluginClient('nope.crt'))
    await expect(loadClientConfig(frpc, {})).rejects.toThrow(`${frpc}:11:16 proxies[0].plugin.crtPath: ${join(dir, 'nope.crt')} does not exist (TUN_CONFIG_INVALID)`)
  })

  it('is refused by a reload (SIGHUP, the admin API) with the same error, and the running proxies stay', async () => {
    writeFileSync(frpc, pluginClient('nope.crt'))
    let applied = 0
    const outcome = await reloadFromFile({ reload: async () => { applied++; return await Promise.reject(new Error('not reached')) } }, frpc, silentLogger())
    expect(outcome.status).toBe('refused')
    expect(applied).toBe(0)
    expect(outcome.errors.map((e) => `${e.message} (${e.code})`).join('\n')).toContain(`proxies[0].plugin.crtPath: ${join(dir, 'nope.crt')} does not exist`)
  })

  it('leaves the rest of the file checked in verify mode: a token file\'s token is unknown, a plugin falls back to no certificate', () => {
    const server = parseServerConfig(tokenFile('nope.token'), frps, {}, VERIFY)
    expect(server.config.auth.token).toBe('')
    expect(server.warnings.map((w) => w.message)).toContain(`auth.tokenSource.file.path names a file that is not on this machine (${join(dir, 'nope.token')} does not exist): the relay refuses to start until it exists there`)
    const client = parseClientConfig(pluginClient('nope.crt'), frpc, {}, VERIFY)
    expect(client.warnings.some((w) => w.message.startsWith('proxies[0].plugin.crtPath names a file that is not on this machine') && w.message.endsWith('the client refuses to start until it exists there'))).toBe(true)
    expect(client.config.proxies[0]).toMatchObject({ plugin: { type: 'https2http', certificate: null } })
    // Still an error beside the missing file: the typo is not hidden by the warning.
    expect(configErrorLines(() => parseClientConfig(pluginClient('nope.crt').replace('localAddr: 127.0.0.1:8080', 'localAddr: 127.0.0.1:99999'), frpc, {}, VERIFY))[0]).toMatch(/proxies\[0\]\.plugin\.localAddr/)
  })

  it('stays an error in verify mode when the file is there but unusable (not PEM, empty token)', () => {
    expect(configErrorLines(() => parseServerConfig(serverTls(join(dir, 'junk.crt')), frps, {}, VERIFY))).toEqual([`${frps}:6:15 transport.tls.certFile: ${join(dir, 'junk.crt')} holds no PEM certificate (-----BEGIN CERTIFICATE-----) (TUN_CONFIG_INVALID)`])
    expect(configErrorLines(() => parseServerConfig(tokenFile('blank.token'), frps, {}, VERIFY))[0]).toMatch(/auth\.tokenSource\.file\.path: .*blank\.token is empty/)
    expect(configErrorLines(() => parseClientConfig(pluginClient(join(dir, 'junk.crt')), frpc, {}, VERIFY))[0]).toMatch(/proxies\[0\]\.plugin\.crtPath: .*junk\.crt and .*relay\.key are not a usable certificate and private key/)
  })

  it('makes tunnel verify exit 0 with the warning on stderr (and 2 with --strict)', async () => {
    writeFileSync(frps, serverTls('nope.crt'))
    const out: string[] = []
    const err: string[] = []
    expect(await runVerify(frps, { stdout: (s) => out.push(s), stderr: (s) => err.push(s) }, {})).toBe(0)
    expect(err).toContain(`${frps}:6:15 warning: transport.tls.certFile names a file that is not on this machine (${join(dir, 'nope.crt')} does not exist): the relay refuses to start until it exists there`)
    expect(out).toEqual([`tunnel: ${frps} is valid (server config)`])
    expect(await runVerify(frps, { stdout: () => {}, stderr: () => {} }, { strict: true })).toBe(2)
  })
})
