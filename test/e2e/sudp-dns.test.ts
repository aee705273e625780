// sudp through the real CLI on loopback (issue 15's acceptance): DNS behind a secret UDP proxy,
// Debian's dnsmasq with static host records, asked 100 times with dig through the visitor's
// local port, every answer right; and a 4,000-byte datagram through to a UDP echo, whole.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, E2E_TEST_TIMEOUT_MS, logMsg, pollUntil, startClient, startRelay, TEST_TOKEN, writeTempFile, type RelayHandle } from '../helpers/cli.js'
import { findTool, missingTool } from '../helpers/system-tools.js'
import { closeUdp, freeUdpPort, startUdpEcho, udpVisitor } from '../helpers/udp.js'

const SECRET = 'e2e-sudp-secret-of-some-length'
const QUERIES = 100
const NAMES = 20
const DATAGRAM_BYTES = 4000

const dnsmasqs = new Set<ChildProcess>()
afterEach(async () => {
  for (const d of dnsmasqs) {
    if (d.pid !== undefined && d.exitCode === null) try { process.kill(d.pid, 'SIGKILL') } catch { /* gone */ }
  }
  dnsmasqs.clear()
  await cleanupCli()
  await closeUdp()
})

const missing = missingTool('dnsmasq', 'dnsmasq-base') || missingTool('dig', 'bind9-dnsutils')

/** dnsmasq on 127.0.0.1:port answering nN.home.test → 10.9.0.N from its own records, nothing else. */
async function startDnsmasq (): Promise<number> {
  const bin = findTool('dnsmasq') ?? 'dnsmasq'
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freeUdpPort()
    const records = Array.from({ length: NAMES }, (_, i) => `--host-record=n${i}.home.test,10.9.0.${i + 1}`)
    const child = spawn(bin, ['-k', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--bind-interfaces', '--listen-address=127.0.0.1', `--port=${port}`, '--pid-file=', '--log-facility=-', ...records], { stdio: ['ignore', 'ignore', 'pipe'] })
    dnsmasqs.add(child)
    let err = ''
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (t: string) => { err += t })
    const ready = await pollUntil(async () => (err.includes('started') ? true : child.exitCode !== null ? false : undefined), { timeoutMs: 5_000, intervalMs: 50 })
    if (ready) return port
    dnsmasqs.delete(child) // the port was taken (TCP or UDP) meanwhile: try another
  }
  throw new Error('dnsmasq did not start')
}

/** Asks every name in turn with one dig process (batch mode, -f); resolves with its answers, one line each. */
async function dig (port: number, names: readonly string[]): Promise<string[]> {
  const batch = await writeTempFile('queries.txt', names.map((n) => `${n} A`).join('\n') + '\n')
  return await new Promise((resolve) => {
    const child = spawn(findTool('dig') ?? 'dig', ['+short', '+tries=1', '+time=5', '-p', String(port), '@127.0.0.1', '-f', batch], { stdio: ['ignore', 'pipe', 'ignore'] })
    let out = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (t: string) => { out += t })
    child.once('close', () => { resolve(out.split('\n').map((l) => l.trim()).filter((l) => l !== '')) })
  })
}

function clientFile (relay: RelayHandle, body: string): string {
  return ['serverAddr: 127.0.0.1', `serverPort: ${relay.port}`, 'auth:', `  token: ${JSON.stringify(TEST_TOKEN)}`, body].join('\n') + '\n'
}

describe.skipIf(missing)('sudp through the CLI', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('answers 100 DNS queries through the visitor right, and carries a 4,000-byte datagram whole', async () => {
    const dns = await startDnsmasq()
    expect(spawnSync(findTool('dig') ?? 'dig', ['+short', '-p', String(dns), '@127.0.0.1', 'n0.home.test'], { encoding: 'utf8' }).stdout.trim()).toBe('10.9.0.1')
    const echo = await startUdpEcho()
    const relay = await startRelay()
    const home = await startClient(clientFile(relay, [
      'proxies:',
      `  - { name: dns, type: sudp, localPort: ${dns}, secretKey: ${SECRET} }`,
      `  - { name: echo, type: sudp, localPort: ${echo.port}, secretKey: ${SECRET} }`,
    ].join('\n')))
    expect([...home.refused]).toEqual([])
    const [dnsPort, echoPort] = [await freeUdpPort(), await freeUdpPort()]
    const visitor = await startClient(clientFile(relay, [
      'visitors:',
      `  - { name: dns, type: sudp, serverName: dns, secretKey: ${SECRET}, bindPort: ${dnsPort} }`,
      `  - { name: echo, type: sudp, serverName: echo, secretKey: ${SECRET}, bindPort: ${echoPort} }`,
    ].join('\n')), { waitFor: 'login' })
    await visitor.handle.waitForLog(logMsg('visitor listening', { visitor: 'echo' }))

    // dig's batch mode asks one query after another.
    const answers = await dig(dnsPort, Array.from({ length: QUERIES }, (_, i) => `n${i % NAMES}.home.test`))
    expect(answers).toEqual(Array.from({ length: QUERIES }, (_, i) => `10.9.0.${(i % NAMES) + 1}`))

    const app = await udpVisitor(echoPort)
    const big = randomBytes(DATAGRAM_BYTES)
    app.send(big)
    await app.waitFor(1, 10_000)
    expect(app.received[0]?.length).toBe(DATAGRAM_BYTES)
    expect(app.received[0]?.equals(big)).toBe(true)
  })
})
