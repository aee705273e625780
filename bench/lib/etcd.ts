// A one-member etcd (Debian's etcd-server) for the fleet benchmarks: free loopback ports, data
// in a temp folder; stop() kills it by PID and removes the data.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Polls of etcd's /health while it starts, HEALTH_POLL_MS apart. */
const HEALTH_POLLS = 200
const HEALTH_POLL_MS = 100

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => { resolve(typeof a === 'object' && a !== null ? a.port : 0) })
    })
  })
}

/** A one-member etcd on free loopback ports; stop() kills it by PID and removes its data. */
export async function startEtcd (): Promise<{ url: string, stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-scale-'))
  const client = await freePort()
  const peer = await freePort()
  const url = `http://127.0.0.1:${client}`
  const child = spawn('etcd', ['--name', 'scale', '--data-dir', join(dir, 'data'), '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`, '--initial-cluster', `scale=http://127.0.0.1:${peer}`, '--log-level', 'warn'], { stdio: 'ignore' })
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => { child.once('exit', resolve) })
      child.kill('SIGTERM')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
  for (let i = 0; i < HEALTH_POLLS; i++) {
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) })
      if ((await res.json() as { health?: string }).health === 'true') return { url, stop }
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, HEALTH_POLL_MS))
  }
  await stop()
  throw new Error('etcd did not become healthy')
}
