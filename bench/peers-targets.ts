// What the peers suite loads: `tunnel echo` services (an echo on TCP and UDP, a TCP sink), each a
// process of its own, and our tunnel (real `tunnel server` + `tunnel client` processes) in front
// of them. UDP goes through the tunnel only when the config accepts `type: udp` and the relay
// registers it; otherwise the UDP column of the tunnel is skipped with a note.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Child, ProcessGroup } from './lib/procs.js'

export const LOOPBACK = '127.0.0.1'
const READY_TIMEOUT_MS = 15_000

/** The ports a peer offers for the workloads (udp undefined: no UDP through this peer). */
export interface PeerPorts {
  echo: number
  sink: number
  udp: number | undefined
}

/** A port that was free a moment ago. */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, LOOPBACK, resolve) })
  const address = server.address()
  await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

async function startEcho (group: ProcessGroup, cliJs: string, name: string, flags: readonly string[]): Promise<{ child: Child, tcp: number, udp: number | undefined }> {
  const child = group.spawn(name, process.execPath, [cliJs, 'echo', '--host', LOOPBACK, '--log-format', 'json', '--log-level', 'info', ...flags])
  return await child.waitFor((json) => json?.['msg'] === 'echo listening'
    ? { child, tcp: Number(json['tcpPort']), udp: typeof json['udpPort'] === 'number' ? json['udpPort'] : undefined }
    : undefined, READY_TIMEOUT_MS, '"echo listening" line')
}

export interface Services {
  ports: PeerPorts
  children: Child[]
}

export async function startServices (group: ProcessGroup, cliJs: string): Promise<Services> {
  const echo = await startEcho(group, cliJs, 'echo', [])
  const sink = await startEcho(group, cliJs, 'sink', ['--mode', 'sink', '--no-udp'])
  return { ports: { echo: echo.tcp, sink: sink.tcp, udp: echo.udp }, children: [echo.child, sink.child] }
}

export interface OurTunnel {
  relay: Child
  client: Child
  ports: PeerPorts
  notes: string[]
  cleanup: () => Promise<void>
}

function proxy (name: string, type: 'tcp' | 'udp', localPort: number): string {
  return `  - name: ${name}\n    type: ${type}\n    localIP: "${LOOPBACK}"\n    localPort: ${localPort}\n    remotePort: 0\n`
}

/** Relay + client processes with tcp proxies for echo and sink, and a udp proxy when possible. */
export async function startOurTunnel (group: ProcessGroup, cliJs: string, services: PeerPorts, withUdp: boolean): Promise<OurTunnel> {
  const dir = await mkdtemp(join(tmpdir(), 'tunnel-peers-'))
  const cleanup = async (): Promise<void> => { await rm(dir, { recursive: true, force: true }) }
  const notes: string[] = []
  try {
    const token = randomBytes(16).toString('hex')
    const frps = join(dir, 'frps.yml')
    await writeFile(frps, `bindAddr: "${LOOPBACK}"\nbindPort: 0\nauth:\n  token: "${token}"\n`)
    const relay = group.spawn('relay', process.execPath, [cliJs, 'server', '-c', frps, '--log-format', 'json', '--log-level', 'info', '--grace', '1'])
    const relayPort = await relay.waitFor((j) => j?.['msg'] === 'relay listening' ? Number(j['port']) : undefined, READY_TIMEOUT_MS, '"relay listening" line')
    const start = async (udp: boolean): Promise<{ client: Child, ports: PeerPorts } | undefined> => {
      const frpc = join(dir, udp ? 'frpc-udp.yml' : 'frpc.yml')
      const proxies = proxy('echo', 'tcp', services.echo) + proxy('sink', 'tcp', services.sink) + (udp && services.udp !== undefined ? proxy('echo-udp', 'udp', services.udp) : '')
      await writeFile(frpc, `serverAddr: "${LOOPBACK}"\nserverPort: ${relayPort}\nauth:\n  token: "${token}"\nproxies:\n${proxies}`)
      const client = group.spawn('client', process.execPath, [cliJs, 'client', '-c', frpc, '--log-format', 'json', '--log-level', 'info', '--grace', '1'])
      const seen = new Map<string, number | string>()
      const want = udp ? ['echo', 'sink', 'echo-udp'] : ['echo', 'sink']
      try {
        await client.waitFor((j) => {
          const name = typeof j?.['proxy'] === 'string' ? j['proxy'] : ''
          if (j?.['msg'] === 'proxy registered') seen.set(name, Number(j['remotePort']))
          else if (typeof j?.['msg'] === 'string' && j['msg'].startsWith('proxy refused')) seen.set(name, String(j['code']))
          return want.every((n) => seen.has(n)) ? true : undefined
        }, READY_TIMEOUT_MS, '"proxy registered" lines')
      } catch (err) {
        if (!udp) throw err
        notes.push(`tunnel udp skipped: the client did not come up with a udp proxy (${(err as Error).message.split('\n')[0] ?? ''})`)
        await group.stop(client, 2_000)
        return undefined
      }
      const port = (n: string): number | undefined => { const v = seen.get(n); return typeof v === 'number' ? v : undefined }
      const echo = port('echo')
      const sink = port('sink')
      if (echo === undefined || sink === undefined) throw new Error(`tcp proxies refused: ${JSON.stringify([...seen])}`)
      if (udp && port('echo-udp') === undefined) {
        notes.push(`tunnel udp skipped: the relay refused the udp proxy (${String(seen.get('echo-udp'))})`)
        await group.stop(client, 2_000)
        return undefined
      }
      return { client, ports: { echo, sink, udp: udp ? port('echo-udp') : undefined } }
    }
    const up = (withUdp ? await start(true) : undefined) ?? await start(false)
    if (up === undefined) throw new Error('the tunnel client did not start')
    return { relay, client: up.client, ports: up.ports, notes, cleanup }
  } catch (err) {
    await cleanup()
    throw err
  }
}
