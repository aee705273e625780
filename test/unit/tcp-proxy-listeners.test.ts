// The relay's tcp visitors cost no listener closures of their own for errors and bytes (issue 21,
// fifth round: per idle stream, the relay's heap held two empty error handlers and the bridge's
// closures per visitor): every admitted visitor socket carries the same listener functions.
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { TcpProxy } from '../../server/tcp-proxy.js'
import { silentLogger } from '../../shared/log.js'
import type { MuxStream } from '../../shared/mux/index.js'
import { muxPair, type MuxPair } from '../helpers/mux-pair.js'

const VISITORS = 3
/** Events whose listeners must not be made per visitor. */
const SHARED_EVENTS = ['error', 'data', 'end', 'drain'] as const

let pair: MuxPair | undefined
let server: Server | undefined
const sockets: Socket[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  pair?.close()
  pair = undefined
  await new Promise<void>((resolve) => { if (server === undefined) resolve(); else server.close(() => { resolve() }) })
  server = undefined
})

async function until (cond: () => boolean): Promise<void> {
  const giveUp = performance.now() + 10_000
  while (!cond() && performance.now() < giveUp) await new Promise((resolve) => setImmediate(resolve))
  expect(cond()).toBe(true)
}

describe('tcp proxy visitors', () => {
  it('share their error and data listener functions: nothing per visitor but its bridge', async () => {
    pair = await muxPair()
    const streams: MuxStream[] = []
    pair.client.on('stream', (s: MuxStream) => { s.accept(); streams.push(s) })
    const proxy = TcpProxy.member('p', 0, pair.server, silentLogger())
    const accepted: Socket[] = []
    server = createServer({ allowHalfOpen: true }, (socket) => { accepted.push(socket); sockets.push(socket); proxy.accept(socket) })
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as AddressInfo).port
    for (let i = 0; i < VISITORS; i++) sockets.push(connect({ host: '127.0.0.1', port }))
    await until(() => proxy.activeVisitors === VISITORS && streams.length === VISITORS)
    const listenersOf = (s: Socket): unknown[] => SHARED_EVENTS.flatMap((e) => s.listeners(e))
    const first = new Set(listenersOf(accepted[0] as Socket))
    expect(first.size).toBeGreaterThan(0)
    expect(new Set(accepted.flatMap(listenersOf))).toEqual(first)
  })
})
