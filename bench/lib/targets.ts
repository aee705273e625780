// Starts what the load is aimed at: the services process (direct baseline) and a real relay and
// client process of the CLI in front of the same services (tunnel: encrypted, the client pinning
// the relay's key; plain: the same with transport.insecurePlaintext on both sides), all on loopback.
// The http service is also behind the relay's vhostHTTPPort as an http proxy (VHOST_HOST); the
// relay serves a vhostHTTPSPort too (no proxy on it: the attack bench aims at its ClientHello reader).
import { randomBytes } from 'node:crypto'
import { createServer, type AddressInfo } from 'node:net'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { newKeyPair } from '../../shared/transport/keys.js'
import type { Child, ProcessGroup } from './procs.js'

export const LOOPBACK = '127.0.0.1'
const READY_TIMEOUT_MS = 15_000

export interface Ports {
  sink: number
  echo: number
  http: number
  udpEcho: number
  udpSink: number
}

/** A target's ports: the services' own, and the http service by name on a vhost port. */
export interface TargetPorts extends Ports {
  /** Where VHOST_HOST is served: the relay's vhostHTTPPort, or the http service itself (direct). */
  vhost: number
}

/** The Host the vhost scenario sends (the http proxy's customDomains). */
export const VHOST_HOST = 'bench.example.test'
/** Tries at a free vhostHTTPPort (another program may take the one picked before the relay binds it). */
const VHOST_START_ATTEMPTS = 3

export type ServiceName = keyof Ports
const SERVICE_NAMES: readonly ServiceName[] = ['sink', 'echo', 'http', 'udpEcho', 'udpSink']
const UDP_SERVICES: ReadonlySet<ServiceName> = new Set(['udpEcho', 'udpSink'])

export interface Services {
  child: Child
  ports: Ports
}

/** The bench client's clientID (the attack bench's takeover attack poses as it). */
export const BENCH_CLIENT_ID = 'bench-client'

export interface Tunnel {
  relay: Child
  client: Child
  /** The relay's public ports, one per service, and its vhostHTTPPort. */
  ports: TargetPorts
  /** Temporary directory holding frps.yml and frpc.yml. */
  dir: string
  /** The relay's control port. */
  relayPort: number
  /** When the client was spawned (performance.now()): the idle processes' age is counted from it. */
  startedAt: number
  /** auth.token and the relay's public key (for raw clients of the attack bench). */
  token: string
  serverKey: string
  /** The relay's admin API port (with TunnelOptions.admin), else undefined. */
  adminPort: number | undefined
  /** The relay's vhostHTTPSPort. */
  vhostHttpsPort: number
  /** Removes the temporary config directory. */
  cleanup: () => Promise<void>
}

export async function startServices (group: ProcessGroup, servicesJs: string): Promise<Services> {
  const child = group.spawn('services', process.execPath, [servicesJs], { stdinPipe: true })
  const ports = await child.waitFor((json) => {
    if (json?.['msg'] !== 'services listening') return undefined
    return { sink: Number(json['sink']), echo: Number(json['echo']), http: Number(json['http']), udpEcho: Number(json['udpEcho']), udpSink: Number(json['udpSink']) }
  }, READY_TIMEOUT_MS, 'services listening line')
  return { child, ports }
}

export interface TunnelOptions {
  cliJs: string
  logLevel: string
  services: Ports
  /** transport.insecurePlaintext on both sides (the baseline that shows what encryption costs). */
  plaintext?: boolean
  /** The relay also serves its admin API on a free loopback port (token ADMIN_TOKEN). */
  admin?: boolean
  /** The client's transport block (issue 18: tls, websocket, wss), e.g. 'transport:\n  protocol: wss\n'; not with plaintext. */
  clientTransport?: string
  /** Prefix of the process names (default: 'plain-' for plaintext, else none). */
  name?: string
}

/** The relay admin API's bearer token when TunnelOptions.admin is set. */
export const ADMIN_TOKEN = 'bench-admin-token'

/** Spawns `tunnel server` and `tunnel client` with one tcp or udp proxy per service, remotePort 0. */
export async function startTunnel (group: ProcessGroup, options: TunnelOptions): Promise<Tunnel> {
  const dir = await mkdtemp(join(tmpdir(), 'tunnel-bench-'))
  const plain = options.plaintext === true
  const prefix = options.name ?? (plain ? 'plain-' : '')
  const transport = plain ? 'transport:\n  insecurePlaintext: true\n' : ''
  const keys = newKeyPair()
  const cleanup = async (): Promise<void> => { await rm(dir, { recursive: true, force: true }) }
  try {
    const token = randomBytes(16).toString('hex')
    const frps = join(dir, 'frps.yml')
    const admin = options.admin === true ? `webServer:\n  addr: "${LOOPBACK}"\n  port: 0\n  token: "${ADMIN_TOKEN}"\n` : ''
    const { relay, relayPort, vhostPort, vhostHttpsPort, adminPort } = await startRelay(group, options, prefix, async (vhost, vhostHttps) => {
      await writeFile(frps, `bindAddr: "${LOOPBACK}"\nbindPort: 0\nvhostHTTPPort: ${vhost}\nvhostHTTPSPort: ${vhostHttps}\nauth:\n  token: "${token}"\n  privateKey: "${keys.privateKey}"\n${transport}${admin}`, { mode: 0o600 })
      return frps
    })

    const frpc = join(dir, 'frpc.yml')
    const proxies = SERVICE_NAMES.map((name) =>
      `  - name: ${name}\n    type: ${UDP_SERVICES.has(name) ? 'udp' : 'tcp'}\n    localIP: "${LOOPBACK}"\n    localPort: ${options.services[name]}\n    remotePort: 0\n`).join('') +
      `  - name: web\n    type: http\n    localIP: "${LOOPBACK}"\n    localPort: ${options.services.http}\n    customDomains: [${VHOST_HOST}]\n`
    await writeFile(frpc, `serverAddr: "${LOOPBACK}"\nserverPort: ${relayPort}\nclientID: "${BENCH_CLIENT_ID}"\nauth:\n  token: "${token}"\n  serverKey: "${keys.publicKey}"\n${options.clientTransport ?? transport}proxies:\n${proxies}`)
    const startedAt = performance.now()
    const client = group.spawn(`${prefix}client`, process.execPath, [options.cliJs, 'client', '-c', frpc, '--log-level', options.logLevel, '--log-format', 'json', '--grace', '1'],
      // The client's key file goes to the bench's temp dir, not to the user's ~/.local/state.
      { env: { XDG_STATE_HOME: dir, STATE_DIRECTORY: '' } })
    const registered = new Map<string, number>()
    const ports = await client.waitFor((json): TargetPorts | undefined => {
      if (json?.['msg'] !== 'proxy registered') return undefined
      registered.set(String(json['proxy']), Number(json['remotePort']))
      if (!SERVICE_NAMES.every((n) => registered.has(n))) return undefined
      const port = (n: ServiceName): number => registered.get(n) ?? 0
      if (!registered.has('web')) return undefined
      return { sink: port('sink'), echo: port('echo'), http: port('http'), udpEcho: port('udpEcho'), udpSink: port('udpSink'), vhost: vhostPort }
    }, READY_TIMEOUT_MS, `"proxy registered" log lines for ${SERVICE_NAMES.join(', ')}, web`)
    return { relay, client, ports, dir, cleanup, relayPort, startedAt, token, serverKey: keys.publicKey, adminPort, vhostHttpsPort }
  } catch (err) {
    await cleanup()
    throw err
  }
}

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, LOOPBACK, resolve) })
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  return port
}

/** Starts the relay with free vhost ports (written into frps.yml by `writeConfig`), retrying if one was taken. */
async function startRelay (group: ProcessGroup, options: TunnelOptions, prefix: string, writeConfig: (vhostPort: number, vhostHttpsPort: number) => Promise<string>): Promise<{ relay: Child, relayPort: number, vhostPort: number, vhostHttpsPort: number, adminPort: number | undefined }> {
  let last: unknown
  for (let attempt = 1; attempt <= VHOST_START_ATTEMPTS; attempt++) {
    const vhostPort = await freePort()
    const vhostHttpsPort = await freePort()
    if (vhostHttpsPort === vhostPort) continue
    const frps = await writeConfig(vhostPort, vhostHttpsPort)
    const relay = group.spawn(`${prefix}relay`, process.execPath, [options.cliJs, 'server', '-c', frps, '--log-level', options.logLevel, '--log-format', 'json', '--grace', '1'])
    try {
      // "relay listening" comes once every port is open, the vhost port included.
      const adminLine = options.admin === true ? relay.waitFor((json) => (json?.['msg'] === 'admin listening' ? Number(json['port']) : undefined), READY_TIMEOUT_MS, 'the "admin listening" log line') : undefined
      adminLine?.catch(() => {}) // awaited below; a start that fails first rejects it unheard
      const relayPort = await relay.waitFor((json) => (json?.['msg'] === 'relay listening' ? Number(json['port']) : undefined), READY_TIMEOUT_MS, 'the "relay listening" log line')
      return { relay, relayPort, vhostPort, vhostHttpsPort, adminPort: await adminLine }
    } catch (err) {
      last = err
      if (relay.running) throw err
    }
  }
  throw new Error(`the relay did not start in ${VHOST_START_ATTEMPTS} attempts: ${String(last)}`)
}
