// A real etcd (Debian's etcd-server) for the fleet tests: one member or a cluster, each on free
// loopback ports, data in a temp folder; stopped by PID (and restartable on the same ports and
// data, to take the store away and bring it back). Guard the tests with missingTool('etcd', 'etcd-server').
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getFreePort } from './services.js'
import { findTool } from './system-tools.js'

/** How long a member may take to answer /health after it starts. */
export const ETCD_START_TIMEOUT_MS = 20_000
/** Between two /health polls. */
const HEALTH_POLL_MS = 100
/** How long a member may take to exit after SIGTERM before it gets SIGKILL. */
const STOP_GRACE_MS = 5_000

interface Member {
  name: string
  clientPort: number
  peerPort: number
  child: ChildProcess | undefined
  log: string[]
}

export interface EtcdCluster {
  /** Client URLs, one per member (http://127.0.0.1:port). */
  readonly endpoints: string[]
  /** Stops member `i` (SIGTERM, then SIGKILL): the store is unreachable through it. */
  stop: (i?: number) => Promise<void>
  /** Starts member `i` again on its ports and data. */
  start: (i?: number) => Promise<void>
  /** Stops every member (the store is away) without removing the data. */
  stopAll: () => Promise<void>
  /** Starts every member again at once (a cluster needs a quorum to become healthy). */
  startAll: () => Promise<void>
  /** Stops every member and removes the data. */
  close: () => Promise<void>
  /** The member's output, for a failing test's message. */
  output: (i?: number) => string
}

async function healthy (url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) })
    const body = await res.json() as { health?: string }
    return body.health === 'true'
  } catch {
    return false
  }
}

async function waitHealthy (url: string, m: Member): Promise<void> {
  const deadline = Date.now() + ETCD_START_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (await healthy(url)) return
    if (m.child === undefined || m.child.exitCode !== null) throw new Error(`etcd ${m.name} exited: ${m.log.join('').slice(-2000)}`)
    await new Promise((resolve) => setTimeout(resolve, HEALTH_POLL_MS))
  }
  throw new Error(`etcd ${m.name} not healthy within ${ETCD_START_TIMEOUT_MS} ms: ${m.log.join('').slice(-2000)}`)
}

async function stopChild (child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => { child.once('exit', () => { resolve() }) })
  child.kill('SIGTERM')
  const timer = setTimeout(() => { child.kill('SIGKILL') }, STOP_GRACE_MS)
  await exited
  clearTimeout(timer)
}

/** Starts an etcd cluster of `size` members on loopback; resolves once every member is healthy. */
export async function startEtcd (size = 1): Promise<EtcdCluster> {
  const bin = findTool('etcd')
  if (bin === undefined) throw new Error('etcd is not installed (Debian package etcd-server)')
  const dir = mkdtempSync(join(tmpdir(), 'tunnel-etcd-'))
  const members: Member[] = []
  for (let i = 0; i < size; i++) members.push({ name: `m${i}`, clientPort: await getFreePort(), peerPort: await getFreePort(), child: undefined, log: [] })
  const cluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',')
  const url = (m: Member): string => `http://127.0.0.1:${m.clientPort}`
  const spawnMember = (m: Member, state: 'new' | 'existing'): void => {
    const child = spawn(bin, [
      '--name', m.name,
      '--data-dir', join(dir, m.name),
      '--listen-client-urls', url(m),
      '--advertise-client-urls', url(m),
      '--listen-peer-urls', `http://127.0.0.1:${m.peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${m.peerPort}`,
      '--initial-cluster', cluster,
      '--initial-cluster-state', state,
      '--initial-cluster-token', 'tunnel-test',
      '--log-level', 'warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] })
    m.log = []
    const keep = (b: Buffer): void => { if (m.log.length < 200) m.log.push(b.toString()) }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    m.child = child
  }
  const member = (i: number): Member => {
    const m = members[i]
    if (m === undefined) throw new Error(`no etcd member ${i}`)
    return m
  }
  try {
    for (const m of members) spawnMember(m, 'new')
    await Promise.all(members.map(async (m) => { await waitHealthy(url(m), m) }))
  } catch (err) {
    await Promise.all(members.map(async (m) => { await stopChild(m.child) }))
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  return {
    endpoints: members.map(url),
    stop: async (i = 0) => { await stopChild(member(i).child) },
    start: async (i = 0) => {
      const m = member(i)
      spawnMember(m, 'existing')
      await waitHealthy(url(m), m)
    },
    stopAll: async () => { await Promise.all(members.map(async (m) => { await stopChild(m.child) })) },
    startAll: async () => {
      for (const m of members) spawnMember(m, 'existing')
      await Promise.all(members.map(async (m) => { await waitHealthy(url(m), m) }))
    },
    close: async () => {
      await Promise.all(members.map(async (m) => { await stopChild(m.child) }))
      rmSync(dir, { recursive: true, force: true })
    },
    output: (i = 0) => member(i).log.join(''),
  }
}

/** A relay's `fleet:` block on `etcd` with keys under `prefix` (advertiseAddr is never dialled by these tests). */
export function fleetYaml (etcd: EtcdCluster, node: string, prefix: string): string {
  return `fleet:\n  nodeName: ${node}\n  advertiseAddr: 127.0.0.1:7000\n  etcd:\n    endpoints: [${etcd.endpoints.join(', ')}]\n    prefix: ${prefix}\n`
}
