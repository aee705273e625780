// `node dist/bench/fleet-memory.js [--clients N] [--fleet]`: relay memory per idle attached client.
// Starts a real relay (`tunnel server`, with a fleet block and a one-member etcd it starts with
// --fleet), logs N clients in (each its own key, from 10 loopback source addresses so the
// handshake gate's per-source rate does not slow them), lets them sit idle, and reads the relay's
// RSS before and after (/proc). Bounded: N at most MAX_CLIENTS, --max-seconds of wall time.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { newKeyPair } from '../shared/transport/index.js'
import { startEtcd } from './lib/etcd.js'
import { readMemory } from './lib/proc-stats.js'
import { rawLogin, type LoggedIn } from './lib/raw-client.js'

const CLI_JS = fileURLToPath(new URL('../cli/main.js', import.meta.url))
const MAX_CLIENTS = 5_000
/** Logins at once, each from its own source address 127.0.3.1 .. 127.0.3.SOURCES (under the handshake gate's caps). */
const SOURCES = 10
/** Idle time after the last login before the second reading, so buffers settle. */
const SETTLE_MS = 3_000
/** Between two batches of logins. */
const BATCH_PAUSE_MS = 100
const TOKEN = 'fleet-memory'

async function main (): Promise<void> {
  const { values } = parseArgs({ options: { clients: { type: 'string', default: '1000' }, fleet: { type: 'boolean', default: false }, 'max-seconds': { type: 'string', default: '50' } } })
  const clients = Math.min(MAX_CLIENTS, Math.max(1, Number(values.clients)))
  const deadline = performance.now() + Number(values['max-seconds']) * 1000
  const etcd = values.fleet ? await startEtcd() : undefined
  const dir = mkdtempSync(join(tmpdir(), 'fleet-memory-'))
  const config = join(dir, 'frps.yml')
  const fleet = etcd === undefined ? '' : `fleet:\n  nodeName: memory\n  advertiseAddr: 127.0.0.1:7000\n  etcd:\n    endpoints: [${etcd.url}]\n`
  const keys = newKeyPair()
  writeFileSync(config, `bindAddr: 127.0.0.1\nbindPort: 0\nauth:\n  token: ${TOKEN}\n  privateKey: "${keys.privateKey}"\nlog:\n  level: warn\n${fleet}`)
  const relay = spawn(process.execPath, [CLI_JS, 'server', '-c', config, '--log-format', 'json', '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'] })
  const sessions: LoggedIn[] = []
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let buf = ''
      relay.stderr.on('data', (d: Buffer) => {
        buf += d.toString()
        for (const line of buf.split('\n')) {
          if (!line.includes('relay listening')) continue
          const p = (JSON.parse(line) as { port?: number }).port
          if (typeof p === 'number') resolve(p)
        }
        buf = buf.slice(buf.lastIndexOf('\n') + 1)
      })
      relay.once('exit', () => { reject(new Error('the relay exited')) })
    })
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const pid = relay.pid ?? 0
    const before = readMemory(pid).rssBytes
    const target = { host: '127.0.0.1', port, token: TOKEN, serverKey: keys.publicKey }
    let refused = 0
    const why = new Map<string, number>()
    // A refused login (the relay's handshake gate and DH budget defend against floods) is tried again later.
    let next = 0
    const retry: number[] = []
    while (sessions.length < clients && performance.now() < deadline) {
      const ids: number[] = []
      while (ids.length < SOURCES && (retry.length > 0 || next < clients)) ids.push(retry.shift() ?? next++)
      if (ids.length === 0) break
      const batch = await Promise.all(ids.map(async (id, k) => await rawLogin(target, `idle-${id}`, { localAddress: `127.0.3.${k + 1}` }).catch((err: unknown) => { why.set(String(err), (why.get(String(err)) ?? 0) + 1); return undefined })))
      batch.forEach((s, k) => {
        if (s?.result.ok === true) { sessions.push(s); return }
        refused++
        if (s !== undefined && !s.result.ok) why.set(s.result.code, (why.get(s.result.code) ?? 0) + 1)
        s?.close()
        retry.push(ids[k] ?? 0)
      })
      await new Promise((resolve) => setTimeout(resolve, BATCH_PAUSE_MS))
    }
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
    const after = readMemory(pid).rssBytes
    const report = {
      fleet: values.fleet,
      clients: sessions.length,
      refused,
      ...(why.size === 0 ? {} : { why: Object.fromEntries(why) }),
      rssBeforeMiB: Number((before / 1048576).toFixed(1)),
      rssAfterMiB: Number((after / 1048576).toFixed(1)),
      rssPerIdleClientKiB: sessions.length === 0 ? null : Number(((after - before) / sessions.length / 1024).toFixed(1)),
    }
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  } finally {
    for (const s of sessions) s.close()
    if (relay.exitCode === null) {
      const exited = new Promise((resolve) => { relay.once('exit', resolve) })
      relay.kill('SIGTERM')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
    await etcd?.stop()
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`fleet-memory: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
})
