// The time bounds of the handshake plugins on fake timers: a visitor that opens a socks5 or
// http_proxy connection and then sends too little is reset after PLUGIN_HANDSHAKE_TIMEOUT_MS
// and counted as refused; one that finishes in time is not. The stream is a stand-in that
// records what the plugin does to it.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPlugin, type PluginConn, type PluginEvents } from '../../client/plugins/index.js'
import { PLUGIN_HANDSHAKE_TIMEOUT_MS } from '../../client/plugins/stream-reader.js'
import type { PluginConfig } from '../../shared/config/index.js'
import { silentLogger } from '../../shared/log.js'
import type { MuxStream } from '../../shared/mux/index.js'
import type { StreamHandler } from '../../shared/mux/stream.js'

interface FakeStream {
  stream: MuxStream
  handler: () => StreamHandler | undefined
  resets: number[]
  written: Buffer[]
}

function fakeStream (): FakeStream {
  let handler: StreamHandler | undefined
  let closed = false
  const resets: number[] = []
  const written: Buffer[] = []
  const stream = {
    id: 1,
    open: { proxy: 'p', visitor: { address: '192.0.2.1', port: 5000 }, listener: { address: '0.0.0.0', port: 6000 } },
    get closed () { return closed },
    attach (h: StreamHandler) { handler = h },
    accept () {},
    consume () {},
    write (chunk: Buffer) { written.push(chunk); return true },
    end () {},
    reset (code: number) {
      if (closed) return
      closed = true
      resets.push(code)
      handler?.close(new Error('reset') as never)
    },
    bytesIn: 0,
    bytesOut: 0,
  }
  return { stream: stream as unknown as MuxStream, handler: () => handler, resets, written }
}

function run (plugin: PluginConfig): { fake: FakeStream, refused: string[], done: () => boolean } {
  const refused: string[] = []
  const events: PluginEvents = { refused: (code) => { refused.push(code) }, dialFailed: () => {} }
  const p = createPlugin(plugin, { proxy: 'p', log: silentLogger(), limiter: undefined, proxyProtocolVersion: null, serverNames: [], events })
  const fake = fakeStream()
  let finished = false
  const conn: PluginConn = { stream: fake.stream, visitorAddress: '192.0.2.1', visitor: '192.0.2.1:5000', done: () => { finished = true } }
  p.handle(conn)
  return { fake, refused, done: () => finished }
}

beforeEach(() => { vi.useFakeTimers() })
afterEach(() => { vi.useRealTimers() })

describe('handshake deadlines', () => {
  for (const plugin of [{ type: 'socks5', credentials: null }, { type: 'http_proxy', credentials: null }] as const) {
    it(`${plugin.type}: a visitor that stalls mid-handshake is reset after ${PLUGIN_HANDSHAKE_TIMEOUT_MS} ms and counted`, async () => {
      const { fake, refused, done } = run(plugin)
      fake.handler()?.data(Buffer.from(plugin.type === 'socks5' ? [5] : 'CONN'))
      await vi.advanceTimersByTimeAsync(PLUGIN_HANDSHAKE_TIMEOUT_MS - 1)
      expect(fake.resets).toEqual([])
      await vi.advanceTimersByTimeAsync(1)
      expect(fake.resets.length).toBe(1)
      expect(refused).toEqual(['TUN_PLUGIN_REQUEST'])
      expect(done()).toBe(true)
    })
  }

  it('socks5: a refused greeting finished in time clears the deadline (no reset later)', async () => {
    const { fake, done } = run({ type: 'socks5', credentials: null })
    fake.handler()?.data(Buffer.from([5, 1, 2])) // offers only user/password: "no acceptable method"
    await vi.advanceTimersByTimeAsync(0)
    expect(fake.written.map((b) => [...b])).toEqual([[5, 0xff]])
    expect(done()).toBe(true)
    await vi.advanceTimersByTimeAsync(PLUGIN_HANDSHAKE_TIMEOUT_MS * 2)
    expect(fake.resets).toEqual([])
  })
})
