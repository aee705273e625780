// frp users' port ranges and includes through the real CLI (issue 17): a frpc.toml with frp's
// parseNumberRange template exposes one working port per number, a relay whose allowPorts cover
// only part of the range refuses the rest port by port, and `includes` adds proxies from other
// files, which SIGHUP re-reads (a new file's proxy comes up, a removed file's goes down).
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, E2E_TEST_TIMEOUT_MS, logMsg, startRelay, spawnCli, TEST_TOKEN, waitForProxyResult, writeTempFile, type ProxyOutcome } from '../helpers/cli.js'
import { closeServices, echoOnce, probePort, startEchoServer } from '../helpers/services.js'

const RANGE_PORTS = 7
/** Tries at finding RANGE_PORTS free consecutive ports. */
const MAX_PORT_SEARCHES = 30

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

async function listen (port: number): Promise<Server | undefined> {
  const server = createServer()
  return await new Promise((resolve) => {
    server.once('error', () => { resolve(undefined) })
    server.listen(port, '127.0.0.1', () => { resolve(server) })
  })
}

/**
 * Where the run of ports is looked for: below Linux's ephemeral range (32768-60999), where the
 * kernel hands out no client ports, so a busy machine's connections do not fill it.
 */
const RANGE_SEARCH = { from: 20_000, to: 32_000 }

/** The first of `count` consecutive loopback ports that were all free a moment ago. */
async function consecutiveFreePorts (count: number): Promise<number> {
  for (let attempt = 0; attempt < MAX_PORT_SEARCHES; attempt++) {
    const first = RANGE_SEARCH.from + Math.floor(Math.random() * (RANGE_SEARCH.to - RANGE_SEARCH.from - count))
    const held: Server[] = []
    for (let p = first; p < first + count; p++) {
      const s = await listen(p)
      if (s === undefined) break
      held.push(s)
    }
    await Promise.all(held.map(async (s) => await new Promise((resolve) => s.close(resolve))))
    if (held.length === count) return first
  }
  throw new Error(`no ${count} consecutive free ports in ${MAX_PORT_SEARCHES} tries`)
}

function rangeToml (relayPort: number, localPort: number, first: number): string {
  return [
    'serverAddr = "127.0.0.1"',
    `serverPort = ${relayPort}`,
    `auth.token = "${TEST_TOKEN}"`,
    `{{- range $_, $v := parseNumberRange "${first}-${first + RANGE_PORTS - 1}" }}`,
    '[[proxies]]',
    'name = "tcp-{{ $v }}"',
    'type = "tcp"',
    `localPort = ${localPort}`,
    'remotePort = {{ $v }}',
    '{{- end }}',
  ].join('\n') + '\n'
}

const portsOf = (first: number): number[] => Array.from({ length: RANGE_PORTS }, (_, i) => first + i)

describe('frp port ranges and includes', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('a range of 7 ports exposes 7 working ports, named as the template names them', async () => {
    const echo = await startEchoServer()
    const relay = await startRelay()
    const first = await consecutiveFreePorts(RANGE_PORTS)
    const client = spawnCli(['client', '-c', await writeTempFile('frpc.toml', rangeToml(relay.port, echo.port, first)), '--log-format', 'json'])
    const outcomes: ProxyOutcome[] = []
    for (const port of portsOf(first)) outcomes.push(await waitForProxyResult(client, `tcp-${port}`))
    expect(outcomes.map((o) => (o.ok ? o.remotePort : o.code))).toEqual(portsOf(first))
    for (const port of portsOf(first)) expect(await echoOnce(port), `port ${port}`).toBe(true)
  })

  it('a relay whose allowPorts cover part of the range refuses the other ports one by one', async () => {
    const echo = await startEchoServer()
    const first = await consecutiveFreePorts(RANGE_PORTS)
    const relay = await startRelay({ extraYaml: `allowPorts:\n  - { start: ${first}, end: ${first + 3} }\n` })
    const client = spawnCli(['client', '-c', await writeTempFile('frpc.toml', rangeToml(relay.port, echo.port, first)), '--log-format', 'json'])
    const outcomes = new Map<number, string>()
    for (const port of portsOf(first)) {
      const o = await waitForProxyResult(client, `tcp-${port}`)
      outcomes.set(port, o.ok ? 'up' : o.code)
    }
    expect([...outcomes.values()]).toEqual(['up', 'up', 'up', 'up', 'TUN_PORT_NOT_ALLOWED', 'TUN_PORT_NOT_ALLOWED', 'TUN_PORT_NOT_ALLOWED'])
    for (const port of portsOf(first).slice(0, 4)) expect(await echoOnce(port)).toBe(true)
    for (const port of portsOf(first).slice(4)) expect(await probePort(port)).toBe('refused')
  })

  it('includes adds a proxy from a second file, and SIGHUP re-reads the included files', async () => {
    const echo = await startEchoServer()
    const relay = await startRelay()
    const main = await writeTempFile('frpc.yml', [
      'serverAddr: 127.0.0.1',
      `serverPort: ${relay.port}`,
      `auth: { token: ${TEST_TOKEN} }`,
      'includes: ["./confd/*.yml"]',
      'proxies:',
      `  - { name: own, type: tcp, localPort: ${echo.port} }`,
    ].join('\n') + '\n')
    const confd = join(dirname(main), 'confd')
    await mkdir(confd)
    await writeFile(join(confd, 'a.yml'), `proxies:\n  - { name: from-a, type: tcp, localPort: ${echo.port} }\n`)
    const client = spawnCli(['client', '-c', main, '--log-format', 'json'])
    const own = await waitForProxyResult(client, 'own')
    const a = await waitForProxyResult(client, 'from-a')
    expect(own.ok && a.ok).toBe(true)
    if (!a.ok) return
    expect(await echoOnce(a.remotePort)).toBe(true)

    await writeFile(join(confd, 'b.yml'), `proxies:\n  - { name: from-b, type: tcp, localPort: ${echo.port} }\n`)
    await rm(join(confd, 'a.yml'))
    const mark = client.logs.length
    client.kill('SIGHUP')
    const reloaded = await client.waitForLog(logMsg('reloaded'), 10_000, mark)
    expect(reloaded).toMatchObject({ added: ['from-b'], removed: ['from-a'], changed: [] })
    const b = await waitForProxyResult(client, 'from-b', mark)
    expect(b.ok).toBe(true)
    if (b.ok) expect(await echoOnce(b.remotePort)).toBe(true)
    expect(await probePort(a.remotePort)).toBe('refused')
  })
})
