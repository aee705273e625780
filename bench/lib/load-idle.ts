// Idle connections held at once (issue 21): opens `count` connections to an echo port, each from
// one of several loopback source addresses so no source passes the relay's per-source shares,
// checks each end to end with one byte echoed, and keeps them all open while the caller reads
// the processes' memory. Connects run a batch at a time; every wait is bounded.
import { connect, type Socket } from 'node:net'

/** Connections opened from one loopback source address (below the relay's default per-source caps of 1,024). */
export const IDLE_PER_SOURCE = 1_000
/** Connects in flight at once. */
const CONNECT_BATCH = 200
/** A connection that has not echoed its byte within this counts as failed. */
const ECHO_TIMEOUT_MS = 10_000

export interface IdleLimits {
  count: number
  /** Fail the whole run after this. */
  timeoutMs: number
}

export interface IdleHold {
  /** Connections that echoed their byte and are open now. */
  held: number
  /** Connections refused, reset, closed or silent. */
  failed: number
  /** Closes every connection; resolves once they are gone. */
  release: () => Promise<void>
}

/** The n-th source address: 127.0.0.2, ..., 127.0.0.251, 127.0.1.2, ... (all loopback on Linux). */
export function idleSourceAddress (n: number): string {
  return `127.0.${Math.floor(n / 250)}.${2 + (n % 250)}`
}

function one (host: string, port: number, localAddress: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, localAddress, noDelay: true })
    const timer = setTimeout(() => { done(false) }, ECHO_TIMEOUT_MS)
    let settled = false
    const done = (ok: boolean): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.removeAllListeners('data')
      if (ok) resolve(socket)
      else {
        socket.destroy()
        resolve(undefined)
      }
    }
    socket.once('connect', () => { socket.write('x') })
    socket.on('data', () => { done(true) })
    socket.on('error', () => { done(false) })
    socket.on('close', () => { done(false) })
  })
}

export async function holdIdle (host: string, port: number, limits: IdleLimits): Promise<IdleHold> {
  const deadline = performance.now() + limits.timeoutMs
  const sockets: Socket[] = []
  let failed = 0
  for (let start = 0; start < limits.count; start += CONNECT_BATCH) {
    if (performance.now() > deadline) {
      for (const s of sockets) s.destroy()
      throw new Error(`idle: not done within ${limits.timeoutMs} ms (${sockets.length} held, ${failed} failed)`)
    }
    const batch: Array<Promise<Socket | undefined>> = []
    for (let i = start; i < Math.min(limits.count, start + CONNECT_BATCH); i++) {
      batch.push(one(host, port, idleSourceAddress(Math.floor(i / IDLE_PER_SOURCE))))
    }
    for (const s of await Promise.all(batch)) {
      if (s === undefined) failed++
      else sockets.push(s)
    }
  }
  // A connection the far end dropped after its echo is not held any more.
  const alive = sockets.filter((s) => !s.destroyed)
  failed += sockets.length - alive.length
  return {
    held: alive.length,
    failed,
    release: async () => {
      await Promise.all(alive.map(async (s) => {
        if (s.destroyed) return
        await new Promise<void>((resolve) => {
          s.once('close', () => { resolve() })
          s.destroy()
        })
      }))
    },
  }
}
