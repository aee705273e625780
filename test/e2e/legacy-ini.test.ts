// frp users' legacy INI files run unchanged (issue 17): a real relay started from an frps.ini and a
// real client from an frpc.ini with a tcp proxy, a udp proxy and a `[range:name]` section; bytes
// cross every public port, and the range's proxies carry the names frp gives them (name_0, ...);
// SIGHUP re-reads the INI file like any other.
import { writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, E2E_TEST_TIMEOUT_MS, logMsg, spawnCli, startRelay, TEST_TOKEN, waitForProxyResult, writeTempFile } from '../helpers/cli.js'
import { closeServices, echoOnce, getFreePort, probePort, startEchoServer } from '../helpers/services.js'
import { closeUdp, freeUdpPort, startUdpEcho, udpVisitor } from '../helpers/udp.js'

/** Ports of the range section. */
const RANGE_PORTS = 3
/** Tries at finding RANGE_PORTS consecutive free ports. */
const MAX_PORT_SEARCHES = 30
/** Below Linux's ephemeral range (32768-60999), where no client ports are handed out. */
const RANGE_SEARCH = { from: 20_000, to: 32_000 }

afterEach(async () => {
  await cleanupCli()
  await closeServices()
  await closeUdp()
})

async function listen (port: number): Promise<Server | undefined> {
  const server = createServer()
  return await new Promise((resolve) => {
    server.once('error', () => { resolve(undefined) })
    server.listen(port, '127.0.0.1', () => { resolve(server) })
  })
}

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

describe('frp legacy INI files through the real CLI', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('a relay from frps.ini and a client from frpc.ini carry tcp, udp and a range: section, bytes across each port', async () => {
    const frps = await writeTempFile('frps.ini', [
      '# frp 0.51-era relay file, unchanged',
      '[common]',
      'bind_addr = 127.0.0.1',
      'bind_port = 0',
      `token = ${TEST_TOKEN}`,
      'allow_ports = 1024-65535',
      'max_ports_per_client = 0',
    ].join('\n') + '\n')
    const relay = spawnCli(['server', '-c', frps, '--log-format', 'json'])
    const listening = await relay.waitForLog(logMsg('relay listening'))
    const relayPort = listening.port
    expect(typeof relayPort).toBe('number')

    const echos = await Promise.all(Array.from({ length: RANGE_PORTS + 1 }, async () => await startEchoServer()))
    const udpEcho = await startUdpEcho()
    const sshPort = await getFreePort()
    const dnsPort = await freeUdpPort()
    const first = await consecutiveFreePorts(RANGE_PORTS)
    const frpc = await writeTempFile('frpc.ini', [
      '[common]',
      'server_addr = 127.0.0.1',
      `server_port = ${String(relayPort)}`,
      `token = ${TEST_TOKEN}`,
      'login_fail_exit = true',
      '',
      '[ssh]',
      'type = tcp',
      'local_ip = 127.0.0.1',
      `local_port = ${echos[0]?.port ?? 0}`,
      `remote_port = ${sshPort}`,
      '',
      '[dns]',
      'type = udp',
      'local_ip = 127.0.0.1',
      `local_port = ${udpEcho.port}`,
      `remote_port = ${dnsPort}`,
      '',
      '[range:ports]',
      'type = tcp',
      `local_port = ${echos.slice(1).map((e) => e.port).join(',')}`,
      `remote_port = ${first}-${first + RANGE_PORTS - 1}`,
    ].join('\n') + '\n')
    const client = spawnCli(['client', '-c', frpc, '--log-format', 'json'])
    const names = ['ssh', 'dns', ...Array.from({ length: RANGE_PORTS }, (_, i) => `ports_${i}`)]
    const outcomes = []
    for (const name of names) outcomes.push(await waitForProxyResult(client, name))
    expect(outcomes.map((o) => (o.ok ? o.remotePort : o.code))).toEqual([sshPort, dnsPort, ...Array.from({ length: RANGE_PORTS }, (_, i) => first + i)])

    expect(await echoOnce(sshPort)).toBe(true)
    for (let i = 0; i < RANGE_PORTS; i++) expect(await echoOnce(first + i), `ports_${i}`).toBe(true)
    // Each range port reaches its own local service: the pairs are kept in order.
    for (let i = 0; i < RANGE_PORTS; i++) expect(echos[i + 1]?.connections, `ports_${i}`).toBe(1)
    const v = await udpVisitor(dnsPort)
    const datagram = randomBytes(512)
    v.send(datagram)
    await v.waitFor(1)
    expect(v.received[0]?.equals(datagram)).toBe(true)
  })

  it('SIGHUP re-reads an frpc.ini: a section added comes up, a section removed goes down', async () => {
    const echo = await startEchoServer()
    const relay = await startRelay()
    const [oldPort, newPort] = [await getFreePort(), await getFreePort()]
    const ini = (section: string, port: number): string => `[common]\nserver_addr = 127.0.0.1\nserver_port = ${relay.port}\ntoken = ${TEST_TOKEN}\n\n[${section}]\nlocal_port = ${echo.port}\nremote_port = ${port}\n`
    const frpc = await writeTempFile('frpc.ini', ini('old', oldPort))
    const client = spawnCli(['client', '-c', frpc, '--log-format', 'json'])
    expect((await waitForProxyResult(client, 'old')).ok).toBe(true)
    await writeFile(frpc, ini('new', newPort))
    const mark = client.logs.length
    client.kill('SIGHUP')
    const reloaded = await client.waitForLog(logMsg('reloaded'), 10_000, mark)
    expect(reloaded).toMatchObject({ added: ['new'], removed: ['old'], changed: [] })
    expect((await waitForProxyResult(client, 'new', mark)).ok).toBe(true)
    expect(await echoOnce(newPort)).toBe(true)
    expect(await probePort(oldPort)).toBe('refused')
  })
})
