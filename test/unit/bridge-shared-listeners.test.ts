// A bridged connection costs no closures of its own on its socket (issue 21, fifth round: about
// 1 KB of each idle stream's heap on each side was a bridge's fifteen closures and their scope):
// every bridge puts the same listener functions on its socket, and they still carry bytes, FIN
// and the close both ways, each bridge for its own socket only.
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { BRIDGE_SOCKET_LISTENERS, bridge } from '../../shared/mux/index.js'
import type { MuxStream } from '../../shared/mux/index.js'
import { muxPair, type MuxPair } from '../helpers/mux-pair.js'
import { loopbackSocketPair } from '../helpers/socket-pair.js'

const open = { proxy: 'p', visitor: { address: '127.0.0.1', port: 1 }, listener: { address: '127.0.0.1', port: 2 } }
const CONNECTIONS = 3

let pair: MuxPair | undefined
const sockets: Socket[] = []
afterEach(() => {
  pair?.close()
  pair = undefined
  for (const s of sockets.splice(0)) s.destroy()
})


/** What one bridged connection saw: bytes each way and how it ended. */
interface Seen { toFar: string, toPeer: string, farEnded: boolean, peerEnded: boolean, result: { bytesToSocket: number, bytesFromSocket: number } | undefined }

describe('bridge', () => {
  it('puts the same listener functions on every socket it bridges, and each still carries its own bytes, FINs and close', async () => {
    pair = await muxPair()
    const server = pair.server
    const peers: MuxStream[] = []
    pair.client.on('stream', (s: MuxStream) => { s.accept(); peers.push(s) })
    const seen: Seen[] = []
    const fars: Socket[] = []
    const nears: Socket[] = []
    const done: Array<Promise<void>> = []
    for (let i = 0; i < CONNECTIONS; i++) {
      const [near, far] = await loopbackSocketPair(sockets)
      const s: Seen = { toFar: '', toPeer: '', farEnded: false, peerEnded: false, result: undefined }
      seen.push(s)
      far.on('data', (c: Buffer) => { s.toFar += c.toString() })
      far.on('end', () => { s.farEnded = true; far.end() })
      done.push(new Promise((resolve) => {
        bridge(server.openStream(open), near, (r) => { s.result = r; resolve() })
      }))
      fars.push(far)
      nears.push(near)
    }
    // The listeners a bridge added are the shared ones, the same functions on every socket.
    for (const near of nears) {
      for (const [event, fn] of Object.entries(BRIDGE_SOCKET_LISTENERS)) expect(near.listeners(event)).toContain(fn)
    }
    // No socket has a listener function of its own on those events (node's own are shared too).
    const listenersOf = (near: Socket): unknown[] => Object.keys(BRIDGE_SOCKET_LISTENERS).flatMap((e) => near.listeners(e))
    expect(new Set(nears.flatMap(listenersOf)).size).toBe(new Set(listenersOf(nears[0] as Socket)).size)

    const until = async (cond: () => boolean): Promise<void> => {
      const giveUp = performance.now() + 10_000
      while (!cond() && performance.now() < giveUp) await new Promise((resolve) => setImmediate(resolve))
      expect(cond()).toBe(true)
    }
    await until(() => peers.length === CONNECTIONS)
    // Streams open in order: peer i is connection i.
    peers.forEach((p, i) => {
      const s = seen[i] as Seen
      p.attach({
        data (c) { s.toPeer += c.toString(); p.consume(c.length) },
        end () { s.peerEnded = true; p.end() },
        drain () {},
        close () {},
      })
      p.write(Buffer.from(`down ${i}`))
    })
    fars.forEach((far, i) => { far.write(`up ${i}`) })
    await until(() => seen.every((s, i) => s.toFar === `down ${i}` && s.toPeer === `up ${i}`))
    // FIN from each visitor side travels to its peer, the peer's FIN back, and the bridge finishes.
    for (const far of fars) far.end()
    await Promise.all(done)
    await until(() => seen.every((s) => s.farEnded))
    seen.forEach((s, i) => {
      expect(s.peerEnded).toBe(true)
      expect(s.farEnded).toBe(true)
      expect(s.result).toEqual({ bytesToSocket: `down ${i}`.length, bytesFromSocket: `up ${i}`.length, error: undefined })
    })
  })
})
