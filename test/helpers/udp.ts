// Loopback UDP for e2e tests: an echo service that records who talked to it, visitor sockets
// that collect their replies, and small Node child processes (a flood sender, a slow service)
// run from inline sources. Everything opened here is closed, and every child killed by its PID,
// by closeUdp().
import { spawn, type ChildProcess } from 'node:child_process'
import { createSocket, type Socket } from 'node:dgram'
import { readFileSync } from 'node:fs'

export const LOOPBACK4 = '127.0.0.1'
export const LOOPBACK6 = '::1'
/** SO_RCVBUF for test sockets (capped by net.core.rmem_max): bursts must not overflow them. */
const TEST_RECV_BUFFER_BYTES = 4 * 1024 * 1024

const sockets = new Set<Socket>()
const children = new Set<ChildProcess>()

function track (socket: Socket): Socket {
  sockets.add(socket)
  socket.on('error', () => { /* ICMP errors and the like are part of what tests look at */ })
  socket.once('close', () => { sockets.delete(socket) })
  return socket
}

/** Closes every socket and kills (SIGKILL, by PID) every child opened through this module. */
export async function closeUdp (): Promise<void> {
  for (const s of sockets) {
    try { s.close() } catch { /* already closed */ }
  }
  sockets.clear()
  const list = [...children]
  children.clear()
  await Promise.all(list.map(async (c) => {
    if (c.exitCode !== null || c.signalCode !== null) return
    const exited = new Promise((resolve) => c.once('exit', resolve))
    if (c.pid !== undefined) {
      try { process.kill(c.pid, 'SIGKILL') } catch { /* already gone */ }
    }
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000).unref())])
  }))
}

process.once('exit', () => {
  for (const c of children) {
    if (c.pid !== undefined) try { process.kill(c.pid, 'SIGKILL') } catch { /* gone */ }
  }
})

async function bind (type: 'udp4' | 'udp6', host: string, port = 0): Promise<Socket> {
  const socket = track(createSocket({ type, recvBufferSize: TEST_RECV_BUFFER_BYTES }))
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(port, host, () => { socket.off('error', reject); resolve() })
  })
  return socket
}

export interface UdpEcho {
  port: number
  /** Source port → datagrams received from it (one source port per tunnel flow). */
  readonly sources: Map<number, number>
  received: number
  close: () => void
}

/** Echoes every datagram to its sender, on 127.0.0.1. */
export async function startUdpEcho (): Promise<UdpEcho> {
  const socket = await bind('udp4', LOOPBACK4)
  const echo: UdpEcho = { port: socket.address().port, sources: new Map(), received: 0, close: () => { socket.close() } }
  socket.on('message', (msg, rinfo) => {
    echo.received++
    echo.sources.set(rinfo.port, (echo.sources.get(rinfo.port) ?? 0) + 1)
    socket.send(msg, rinfo.port, rinfo.address)
  })
  return echo
}

/** A UDP port that was free a moment ago (nothing listens on it now). */
export async function freeUdpPort (): Promise<number> {
  const s = await bind('udp4', LOOPBACK4)
  const port = s.address().port
  await new Promise<void>((resolve) => { s.close(() => { resolve() }) })
  return port
}

/** Binds a UDP port on 127.0.0.1 and keeps it (closed by closeUdp()). */
export async function holdUdpPort (): Promise<number> {
  return (await bind('udp4', LOOPBACK4)).address().port
}

export interface UdpVisitor {
  socket: Socket
  readonly received: Buffer[]
  send: (data: Buffer | string) => void
  /** Resolves once `count` datagrams have arrived in all; rejects after `timeoutMs`. */
  waitFor: (count: number, timeoutMs?: number) => Promise<void>
  close: () => void
}

/**
 * A visitor socket (IPv4 or IPv6 loopback) that sends to `port` and keeps every reply; `from`
 * binds it to another local address (127.0.0.2: another source than 127.0.0.1).
 */
export async function udpVisitor (port: number, family: 4 | 6 = 4, from?: string): Promise<UdpVisitor> {
  const host = family === 4 ? LOOPBACK4 : LOOPBACK6
  const socket = await bind(family === 4 ? 'udp4' : 'udp6', from ?? host)
  const received: Buffer[] = []
  const wakers = new Set<() => void>()
  socket.on('message', (msg) => {
    received.push(msg)
    for (const w of [...wakers]) w()
  })
  return {
    socket,
    received,
    send: (data) => { socket.send(typeof data === 'string' ? Buffer.from(data) : data, port, host) },
    waitFor: (count, timeoutMs = 5_000) => new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (received.length < count) return
        clearTimeout(timer)
        wakers.delete(check)
        resolve()
      }
      const timer = setTimeout(() => {
        wakers.delete(check)
        reject(new Error(`${received.length} of ${count} datagrams within ${timeoutMs} ms`))
      }, timeoutMs)
      wakers.add(check)
      check()
    }),
    close: () => { socket.close() },
  }
}

export interface ScriptHandle {
  child: ChildProcess
  pid: number
  /** JSON lines the script printed on stdout. */
  readonly lines: Array<Record<string, unknown>>
  /** Writes one command line to the script's stdin. */
  command: (line: string) => void
  waitForLine: (predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number) => Promise<Record<string, unknown>>
}

/** Runs an inline ES module in its own Node process (killed by PID in closeUdp). */
export function spawnScript (source: string, args: readonly string[] = []): ScriptHandle {
  const child = spawn(process.execPath, ['--input-type=module', '-e', source, '--', ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
  if (child.pid === undefined) throw new Error('could not spawn a node script')
  children.add(child)
  child.once('exit', () => { children.delete(child) })
  const lines: Array<Record<string, unknown>> = []
  const wakers = new Set<() => void>()
  let partial = ''
  child.stdout?.setEncoding('utf8').on('data', (text: string) => {
    const parts = (partial + text).split('\n')
    partial = parts.pop() ?? ''
    for (const p of parts) {
      try { lines.push(JSON.parse(p) as Record<string, unknown>) } catch { /* not JSON */ }
    }
    for (const w of [...wakers]) w()
  })
  return {
    child,
    pid: child.pid,
    lines,
    command: (line) => { child.stdin?.write(`${line}\n`) },
    waitForLine: (predicate, timeoutMs = 10_000) => new Promise((resolve, reject) => {
      const check = (): void => {
        const found = lines.find(predicate)
        if (found === undefined) return
        clearTimeout(timer)
        wakers.delete(check)
        resolve(found)
      }
      const timer = setTimeout(() => {
        wakers.delete(check)
        reject(new Error(`script ${child.pid ?? '?'}: no matching line within ${timeoutMs} ms (got ${JSON.stringify(lines.slice(-3))})`))
      }, timeoutMs)
      wakers.add(check)
      check()
    }),
  }
}

/**
 * A flood sender: `node - PORT RATE_PER_MS SIZE`. Command on stdin: `send N` sends N datagrams of
 * SIZE bytes at RATE_PER_MS to 127.0.0.1:PORT, then, once every one of them has been handed to
 * the kernel (so each is in the receiver's queue or counted in its drops), prints
 * {"sent":TOTAL,"ms":M} (M = how long the N took). Prints {"ready":true} first.
 */
// The scripts below are modules of their own (run with node -e): each needs its own imports,
// whatever the file around them imports.
export const FLOOD_SCRIPT = `
import { createSocket } from 'node:dgram'
import { createInterface } from 'node:readline'
const [port, perMs, size] = process.argv.slice(-3).map(Number)
const s = createSocket('udp4')
s.on('error', () => {})
await new Promise((r) => s.connect(port, '127.0.0.1', r))
const buf = Buffer.alloc(size, 0x46)
let sent = 0
let handed = 0
const burst = (n) => {
  const start = performance.now()
  const end = sent + n
  const base = sent
  let scheduled = false
  const report = () => {
    if (scheduled || sent < end || handed < end) return
    scheduled = true
    console.log(JSON.stringify({ sent, ms: performance.now() - start }))
  }
  const onHanded = () => { handed++; report() }
  const tick = () => {
    const due = Math.min(end, base + Math.floor((performance.now() - start) * perMs))
    while (sent < due) { s.send(buf, onHanded); sent++ }
    if (sent < end) setTimeout(tick, 1)
    else report()
  }
  tick()
}
createInterface({ input: process.stdin }).on('line', (cmd) => {
  const m = /^send (\\d+)$/.exec(cmd)
  if (m !== null) burst(Number(m[1]))
})
console.log(JSON.stringify({ ready: true }))
`

/**
 * A slow UDP service on 127.0.0.1: it sleeps 1 ms (without using CPU) after every 20 datagrams,
 * so it takes about 20,000 datagrams/s and the kernel drops the rest at its socket. Prints
 * {"port":P}; on `count` prints {"received":N}.
 */
/**
 * Bytes waiting in the receive queue of the unconnected UDP socket(s) bound to `port`, from the
 * rx_queue column of /proc/net/udp and /proc/net/udp6 (undefined where /proc is unreadable).
 */
export function udpReceiveQueueBytes (port: number): number | undefined {
  let total: number | undefined
  const local = `:${port.toString(16).toUpperCase().padStart(4, '0')}`
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string
    try { text = readFileSync(table, 'latin1') } catch { continue }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      if (!(fields[1] ?? '').endsWith(local) || !/^0+:0000$/.test(fields[2] ?? '')) continue
      const rx = Number.parseInt((fields[4] ?? '').split(':')[1] ?? '', 16)
      if (Number.isFinite(rx)) total = (total ?? 0) + rx
    }
  }
  return total
}

export const SLOW_SERVICE_SCRIPT = `
import { createSocket } from 'node:dgram'
import { createInterface } from 'node:readline'
const s = createSocket('udp4')
const nap = new Int32Array(new SharedArrayBuffer(4))
let received = 0
s.on('message', () => { if (++received % 20 === 0) Atomics.wait(nap, 0, 0, 1) })
s.on('error', () => {})
s.bind(0, '127.0.0.1', () => console.log(JSON.stringify({ port: s.address().port })))
createInterface({ input: process.stdin }).on('line', (cmd) => { if (cmd === 'count') console.log(JSON.stringify({ received })) })
`
