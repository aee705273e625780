// The carrier-NAT lab for the lab suite: builds it with netlab/netlab.sh (own prefix "tl"),
// runs the CLI and probes inside its namespaces, and tears it all down. Addresses are the lab's
// own (10.200.0.0/16, 192.168.77.0/24, fd77:200::/32), guarded on the host by unreachable routes.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { spawnCli, writeTempFile, logMsg, type CliHandle } from '../helpers/cli.js'

export const PREFIX = 'tl'
export const NS = {
  home: `${PREFIX}-home`,
  cgnat: `${PREFIX}-cgnat`,
  wire: `${PREFIX}-wire`,
  inet: `${PREFIX}-inet`,
  public: `${PREFIX}-public`,
  visitor: `${PREFIX}-visitor`,
} as const
export const RELAY_V4 = '10.200.2.10'
export const RELAY_V6 = 'fd77:200:2::10'
export const NAT_WAN = '10.200.1.2'
export const TOKEN = 'lab-token'

const NETLAB = fileURLToPath(new URL('./netlab/netlab.sh', import.meta.url))
const PROBE = fileURLToPath(new URL('./probe.mjs', import.meta.url))
const env = { ...process.env, NETLAB_PREFIX: PREFIX }

/** Why the lab cannot run here, or undefined when it can. */
export function labUnavailable (): string | undefined {
  if (process.platform !== 'linux') return 'not Linux'
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces'
  for (const tool of ['ip', 'nft', 'conntrack']) {
    try { execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }) } catch { return `missing ${tool} (apt-get install -y iproute2 nftables conntrack)` }
  }
  try {
    execFileSync('ip', ['netns', 'add', `${PREFIX}-probe`], { stdio: 'ignore' })
    execFileSync('ip', ['netns', 'del', `${PREFIX}-probe`], { stdio: 'ignore' })
  } catch {
    return 'cannot create network namespaces here'
  }
  return undefined
}

/** Builds the lab, or resets it to baseline (MTU, firewall, NAT timeouts, impairment). */
export function labUp (): void {
  execFileSync(NETLAB, ['up'], { env, stdio: ['ignore', 'ignore', 'pipe'] })
}

export function labDown (): void {
  execFileSync(NETLAB, ['down'], { env, stdio: ['ignore', 'ignore', 'pipe'] })
}

export function netlab (...args: string[]): void {
  execFileSync(NETLAB, args, { env, stdio: ['ignore', 'ignore', 'pipe'] })
}

/** Runs a command inside a lab namespace and returns its stdout. */
export function nsRun (ns: string, ...cmd: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, ...cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

export function sysctl (ns: string, setting: string): void {
  nsRun(ns, 'sysctl', '-qw', setting)
}

const probes = new Set<ChildProcess>()

/** A TCP (or UDP) echo server inside `ns`; resolves once it listens. */
export function startEcho (ns: string, port: number, kind: 'echo' | 'udpecho' | 'proxyecho' = 'echo'): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, PROBE, kind, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] })
  probes.add(child)
  child.once('exit', () => probes.delete(child))
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', () => { resolve(child) })
    child.once('exit', (code) => { reject(new Error(`echo probe in ${ns} exited ${String(code)}`)) })
  })
}

export interface CheckResult { ok: boolean, why: string, received: number, ms: number }

/** Runs probe.mjs inside `ns` and returns the JSON line it prints. */
function runProbe<T extends { ok: boolean, why: string } = CheckResult> (ns: string, args: string[]): Promise<T> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, PROBE, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  probes.add(child)
  let out = ''
  child.stdout?.setEncoding('utf8').on('data', (t: string) => { out += t })
  return new Promise((resolve) => {
    child.once('exit', () => {
      probes.delete(child)
      // A probe that printed nothing parseable failed: ok false, with what it printed.
      try { resolve(JSON.parse(out) as T) } catch { resolve({ ok: false, why: `no result: ${out}`, received: 0, ms: 0, line: '' } as unknown as T) }
    })
  })
}

/** From inside `ns`: send `bytes` to host:port, expect them echoed back byte-exact. */
export function echoCheck (ns: string, host: string, port: number, bytes: number, timeoutMs = 20_000): Promise<CheckResult> {
  return runProbe(ns, ['check', host, String(port), String(bytes), String(timeoutMs)])
}

export interface LineResult { ok: boolean, why: string, line: string }

/** From inside `ns`: connect to host:port and read the one line the service answers. */
export function readLine (ns: string, host: string, port: number, timeoutMs = 5_000): Promise<LineResult> {
  return runProbe<LineResult>(ns, ['readline', host, String(port), String(timeoutMs)])
}

/** From inside `ns`: `count` numbered datagrams to host:port, every one echoed back. */
export function udpEchoCheck (ns: string, host: string, port: number, count: number, timeoutMs = 5_000): Promise<CheckResult> {
  return runProbe(ns, ['udpcheck', host, String(port), String(count), String(timeoutMs)])
}

/** Polls echoCheck until it succeeds or `withinMs` runs out; returns the ms it took. */
export async function echoWorksWithin (ns: string, host: string, port: number, withinMs: number): Promise<number> {
  const start = performance.now()
  let last: CheckResult | undefined
  while (performance.now() - start < withinMs) {
    last = await echoCheck(ns, host, port, 1024, 2_000)
    if (last.ok) return performance.now() - start
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`no echo through ${host}:${port} from ${ns} within ${withinMs} ms (last: ${JSON.stringify(last)})`)
}

export function killProbes (): void {
  for (const p of probes) if (p.pid !== undefined) process.kill(p.pid, 'SIGKILL')
  probes.clear()
}

export interface LabTunnel {
  relay: CliHandle
  client: CliHandle
  remotePort: number
}

export interface TunnelOptions {
  heartbeatInterval?: number
  heartbeatTimeout?: number
  relayHeartbeatTimeout?: number
  localPort: number
  remotePort?: number
  /** Also expose a UDP service on this local port (remote port: the same as localPort). */
  udpLocalPort?: number
  /** transport.proxyProtocolVersion of the TCP proxy. */
  proxyProtocol?: 'v1' | 'v2'
  /** webServer.port of the client (its admin API on 127.0.0.1 in the home namespace). */
  adminPort?: number
}

/** A relay in the public host and a client in the home behind the NAT, one TCP proxy. */
export async function startTunnel (o: TunnelOptions): Promise<LabTunnel> {
  const relay = await startLabRelay(o.relayHeartbeatTimeout ?? 90)
  const client = await startLabClient(o)
  const line = await client.waitForLog((l) => l.msg === 'proxy registered' && String(l.proxy).startsWith('echo-'), 15_000)
  return { relay, client, remotePort: line.remotePort as number }
}

export async function startLabRelay (heartbeatTimeout = 90): Promise<CliHandle> {
  const frps = await writeTempFile('lab-frps.yml', `bindAddr: "::"\nbindPort: 7000\nauth:\n  token: ${TOKEN}\ntransport:\n  heartbeatTimeout: ${heartbeatTimeout}\n`)
  const relay = spawnCli(['server', '-c', frps, '--log-format', 'json'], { netns: NS.public })
  await relay.waitForLog(logMsg('relay listening'), 15_000)
  return relay
}

export async function startLabClient (o: TunnelOptions, clientID = 'home'): Promise<CliHandle> {
  const frpc = await writeTempFile(`lab-frpc-${clientID}.yml`, [
    `serverAddr: ${RELAY_V4}`,
    'serverPort: 7000',
    `clientID: ${clientID}`,
    `auth:\n  token: ${TOKEN}`,
    `transport:\n  heartbeatInterval: ${o.heartbeatInterval ?? 10}\n  heartbeatTimeout: ${o.heartbeatTimeout ?? 40}`,
    ...(o.adminPort === undefined ? [] : [`webServer:\n  port: ${o.adminPort}`]),
    'proxies:',
    `  - name: echo-${clientID}`,
    '    type: tcp',
    '    localIP: 127.0.0.1',
    `    localPort: ${o.localPort}`,
    `    remotePort: ${o.remotePort ?? 6000}`,
    ...(o.proxyProtocol === undefined ? [] : ['    transport:', `      proxyProtocolVersion: ${o.proxyProtocol}`]),
    ...(o.udpLocalPort === undefined
      ? []
      : [`  - name: udp-${clientID}`, '    type: udp', '    localIP: 127.0.0.1', `    localPort: ${o.udpLocalPort}`, `    remotePort: ${o.udpLocalPort}`]),
  ].join('\n') + '\n')
  return spawnCli(['client', '-c', frpc, '--log-format', 'json'], { netns: NS.home })
}

/** Open file descriptors of a process (sockets, pipes, files). */
export function fdCount (pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}
