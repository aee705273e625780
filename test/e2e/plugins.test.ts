// frp's client plugins through the real CLI (issue 17, part 1), driven by curl from Debian as a
// user would: curl --proxy through http_proxy and curl --socks5-hostname through socks5 reach a
// local HTTP service and wrong credentials are refused; static_file serves a 20 MB file byte for
// byte, answers a Range with 206 and the right bytes, and refuses ../ and symlink escapes;
// unix_domain_socket reaches a service on a Unix socket; https2http serves a plain local HTTP
// service with the plugin's certificate (curl --resolve --cacert); status shows tcp+socks5; a
// reload that changes a plugin's password takes effect.
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { createServer as createHttpServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupCli, E2E_TEST_TIMEOUT_MS, logMsg, spawnCli, startClient, TEST_TOKEN, writeTempFile, type ClientHandle } from '../helpers/cli.js'
import { closeHttp, secureExampleCert, startHttpService, type HttpService } from '../helpers/http.js'
import { closeServices, getFreePort } from '../helpers/services.js'
import { missingTool } from '../helpers/system-tools.js'
import { startVhostRelay, type VhostRelay } from '../helpers/vhost.js'

const MB = 1024 * 1024
const BIG_FILE_BYTES = 20 * MB
const CURL_TIMEOUT_MS = 25_000

interface Run { code: number, stdout: Buffer, stderr: string }

function curl (args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile('curl', ['--silent', '--show-error', '--max-time', '20', ...args], { timeout: CURL_TIMEOUT_MS, encoding: 'buffer', maxBuffer: 64 * MB }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
      resolve({ code, stdout, stderr: stderr.toString() })
    })
  })
}

/** `curl -w '%{http_code}'`: the status (000 when there was none). */
async function status (args: string[]): Promise<string> {
  return (await curl(['--output', '/dev/null', '--write-out', '%{http_code}', ...args])).stdout.toString()
}

describe.skipIf(missingTool('curl', 'curl'))('client plugins end to end (curl)', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunnel-plugins-e2e-'))
  const www = join(dir, 'www')
  const socketPath = join(dir, 'service.sock')
  const big = randomBytes(BIG_FILE_BYTES)
  const cert = secureExampleCert()
  const unixServers: Server[] = []
  let relay: VhostRelay
  let client: ClientHandle
  let service: HttpService
  let admin: number
  let yaml: (socksPassword: string) => string

  beforeAll(async () => {
    mkdirSync(join(www, 'sub'), { recursive: true })
    writeFileSync(join(www, 'big.bin'), big)
    writeFileSync(join(www, 'a.txt'), 'hello from the folder\n')
    writeFileSync(join(dir, 'outside.txt'), 'must not be served\n')
    symlinkSync(join(dir, 'outside.txt'), join(www, 'escape'))
    symlinkSync(dir, join(www, 'sub', 'up'))
    writeFileSync(join(dir, 'web.crt'), cert.cert)
    writeFileSync(join(dir, 'web.key'), cert.key)
    // An HTTP service on a Unix socket (as the Docker API is): "unix:" and the request's path.
    const unix = createHttpServer((req, res) => { res.end(`unix:${req.url ?? ''}`) })
    unixServers.push(unix)
    await new Promise<void>((resolve) => { unix.listen(socketPath, resolve) })
    service = await startHttpService('local-web')
    relay = await startVhostRelay()
    admin = await getFreePort()
    yaml = (socksPassword) => [
      'serverAddr: 127.0.0.1',
      `serverPort: ${relay.port}`,
      `auth: { token: ${JSON.stringify(TEST_TOKEN)} }`,
      `webServer: { port: ${admin} }`,
      'proxies:',
      '  - { name: hp, type: tcp, remotePort: 0, plugin: { type: http_proxy, httpUser: u, httpPassword: pw } }',
      `  - { name: s5, type: tcp, remotePort: 0, plugin: { type: socks5, username: u, password: ${socksPassword} } }`,
      `  - { name: files, type: tcp, remotePort: 0, plugin: { type: static_file, localPath: ${JSON.stringify(www)}, stripPrefix: static } }`,
      `  - { name: uds, type: tcp, remotePort: 0, plugin: { type: unix_domain_socket, unixPath: ${JSON.stringify(socketPath)} } }`,
      `  - { name: web, type: https, customDomains: [${cert.subject}], plugin: { type: https2http, localAddr: "127.0.0.1:${service.port}", crtPath: ${JSON.stringify(join(dir, 'web.crt'))}, keyPath: ${JSON.stringify(join(dir, 'web.key'))} } }`,
    ].join('\n') + '\n'
    client = await startClient(yaml('pw'))
    expect(client.refused.size).toBe(0)
  })

  afterAll(async () => {
    await cleanupCli()
    await closeHttp()
    await closeServices()
    for (const s of unixServers) { s.closeAllConnections(); s.close() }
    rmSync(dir, { recursive: true, force: true })
  })

  const port = (name: string): number => {
    const p = client.ports.get(name)
    if (p === undefined) throw new Error(`${name} is not registered`)
    return p
  }

  it('curl --proxy through http_proxy reaches a local HTTP service, plain and through CONNECT; wrong credentials get 407', async () => {
    const proxy = `http://u:pw@127.0.0.1:${port('hp')}`
    const target = `http://127.0.0.1:${service.port}/through-the-proxy`
    const plain = await curl(['--proxy', proxy, target])
    expect(plain.code).toBe(0)
    expect(JSON.parse(plain.stdout.toString())).toMatchObject({ service: 'local-web', url: '/through-the-proxy' })
    const tunnelled = await curl(['--proxytunnel', '--proxy', proxy, target])
    expect(JSON.parse(tunnelled.stdout.toString())).toMatchObject({ service: 'local-web' })
    expect(await status(['--proxy', `http://u:wrong@127.0.0.1:${port('hp')}`, target])).toBe('407')
    const refused = await curl(['--proxytunnel', '--proxy', `http://u:wrong@127.0.0.1:${port('hp')}`, '--write-out', '%{http_connect}', '--output', '/dev/null', target])
    expect(refused.stdout.toString()).toBe('407')
    expect(refused.code).not.toBe(0)
  })

  it('curl --socks5-hostname through socks5 reaches a local HTTP service by name; a wrong password is refused', async () => {
    const ok = await curl(['--socks5-hostname', `u:pw@127.0.0.1:${port('s5')}`, `http://localhost:${service.port}/by-name`])
    expect(ok.code).toBe(0)
    expect(JSON.parse(ok.stdout.toString())).toMatchObject({ url: '/by-name' })
    const wrong = await curl(['--socks5-hostname', `u:nope@127.0.0.1:${port('s5')}`, `http://localhost:${service.port}/`])
    expect(wrong.code).toBe(97) // CURLE_PROXY: the SOCKS5 user/password was refused
  })

  it('static_file serves 20 MB byte for byte and answers a Range with 206 and exactly those bytes', async () => {
    const url = `http://127.0.0.1:${port('files')}/static/big.bin`
    const whole = await curl([url])
    expect(whole.code).toBe(0)
    expect(whole.stdout.length).toBe(BIG_FILE_BYTES)
    expect(createHash('sha256').update(whole.stdout).digest('hex')).toBe(createHash('sha256').update(big).digest('hex'))
    const from = 12 * MB + 7
    const part = await curl(['--range', `${from}-${from + 999}`, '--write-out', '\n%{http_code}', url])
    const text = part.stdout
    expect(text.subarray(text.length - 3).toString()).toBe('206')
    expect(Buffer.compare(text.subarray(0, 1000), big.subarray(from, from + 1000))).toBe(0)
    expect((await curl([`http://127.0.0.1:${port('files')}/static/a.txt`])).stdout.toString()).toBe('hello from the folder\n')
  })

  it('static_file refuses ../ (plain and encoded) with 403 and symlinks that lead out with 404', async () => {
    const base = `http://127.0.0.1:${port('files')}`
    expect(await status(['--path-as-is', `${base}/static/../outside.txt`])).toBe('403')
    expect(await status(['--path-as-is', `${base}/static/%2e%2e/outside.txt`])).toBe('403')
    expect(await status(['--path-as-is', `${base}/static/sub/%2E%2E%2F%2E%2E%2Foutside.txt`])).toBe('403')
    expect(await status([`${base}/static/escape`])).toBe('404')
    expect(await status([`${base}/static/sub/up/outside.txt`])).toBe('404')
    expect(await status([`${base}/outside.txt`])).toBe('404') // outside stripPrefix
  })

  it('unix_domain_socket: a service on a Unix socket answers through a tcp proxy', async () => {
    const r = await curl([`http://127.0.0.1:${port('uds')}/containers/json`])
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toBe('unix:/containers/json')
  })

  it('https2http: curl --resolve with the plugin\'s certificate reaches a plain local HTTP service', async () => {
    const host = cert.subject
    for (const version of ['--http1.1', '--http2']) {
      const r = await curl([version, '--cacert', cert.certPath, '--resolve', `${host}:${relay.https}:127.0.0.1`, `https://${host}:${relay.https}/secure-path`])
      expect(r.stderr).toBe('')
      expect(JSON.parse(r.stdout.toString())).toMatchObject({ service: 'local-web', url: '/secure-path', headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '127.0.0.1' } })
    }
  })

  it('tunnel status shows each proxy\'s type with its plugin', async () => {
    const h = spawnCli(['status', '-c', client.configPath])
    await h.exit
    const table = h.stdout()
    for (const t of ['tcp+http_proxy', 'tcp+socks5', 'tcp+static_file', 'tcp+unix_domain_socket', 'https+https2http']) expect(table).toContain(t)
    expect(table).toContain(`unix:${socketPath}`)
  })

  it('a reload that changes the socks5 password restarts that proxy on its port: the old password is refused, the new one works', async () => {
    await writeFile(client.configPath, yaml('fresh'))
    const mark = client.handle.logs.length
    client.handle.kill('SIGHUP')
    const line = await client.handle.waitForLog(logMsg('reloaded'), 10_000, mark)
    expect(line.changed).toEqual(['s5'])
    expect((await curl(['--socks5-hostname', `u:pw@127.0.0.1:${port('s5')}`, `http://localhost:${service.port}/`])).code).toBe(97)
    const ok = await curl(['--socks5-hostname', `u:fresh@127.0.0.1:${port('s5')}`, `http://localhost:${service.port}/after-reload`])
    expect(JSON.parse(ok.stdout.toString())).toMatchObject({ url: '/after-reload' })
  })

  it('the config written for this test is what tunnel verify accepts', async () => {
    const file = await writeTempFile('frpc-plugins-verify.yml', yaml('pw'))
    const h = spawnCli(['verify', '-c', file])
    expect((await h.exit).code).toBe(0)
  })
})
