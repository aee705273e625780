// Issue 22, finding 9: a client that never returns credit made the relay hold about 223 KB per
// visitor stream (+436 MB at 2,000 visitors), with no cap per session. Now what the relay reads
// from a client's visitors and cannot send counts against maxBufferedBytesPerClient: past it a
// visitor is read only as far as the client's credit goes, so the relay's buffer for that client
// grows with the cap, not with its visitors, while a stream that has credit goes on. A raw client
// built from the project's own session takes every stream and never consumes a byte.
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { SOCKET_READ_BYTES, STREAM_SEND_HWM_BYTES } from '../../shared/mux/stream.js'
import { MessageType } from '../../shared/wire/control.js'
import { closeInProcess, rawControl, startRelayInProcess } from '../helpers/in-process.js'
import { closeServices, connectTo, echoOnce } from '../helpers/services.js'

const CAP_BYTES = 1024 * 1024
/** Visitors arrive in waves; each wave pushes until it stalls before the next comes. */
const WAVE = 8
const WAVES = 6
const VISITOR_BYTES = 1024 * 1024
const DEADLINE_MS = 20_000
/** The relay's buffer has not moved for this long: every visitor of the wave is stalled. */
const SETTLED_MS = 400

afterEach(async () => {
  await closeInProcess()
  await closeServices()
})

async function settled (read: () => number): Promise<void> {
  const started = Date.now()
  let last = -1
  let since = Date.now()
  for (;;) {
    const now = read()
    if (now !== last) { last = now; since = Date.now() }
    if (Date.now() - since >= SETTLED_MS) return
    if (Date.now() - started > DEADLINE_MS) throw new Error(`the relay's buffer did not settle within ${DEADLINE_MS} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A visitor that pushes VISITOR_BYTES as fast as the relay takes them. */
async function pusher (port: number): Promise<Socket> {
  const socket = await connectTo(port)
  socket.on('error', () => {})
  socket.write(Buffer.alloc(VISITOR_BYTES, 0x61))
  return socket
}

describe('issue 22: a client that never returns credit', () => {
  it('makes the relay buffer for it up to maxBufferedBytesPerClient, not a share per visitor, and its streams with credit go on', async () => {
    const { relay, port } = await startRelayInProcess(`maxBufferedBytesPerClient: ${CAP_BYTES}\n`)
    const raw = await rawControl(port, 'no-credit', undefined, undefined, { hold: (proxy) => proxy === 'held' })
    raw.send({ type: MessageType.REGISTER, proxies: [{ name: 'held', type: 'tcp', remotePort: 0 }, { name: 'echo', type: 'tcp', remotePort: 0 }] })
    const held = await raw.waitFor((m) => m.type === MessageType.PROXY_RESULT && m.name === 'held')
    const echo = await raw.waitFor((m) => m.type === MessageType.PROXY_RESULT && m.name === 'echo')
    const control = relay.sessions()[0]
    if (control === undefined) throw new Error('no session')
    const session = control.session
    expect(session.bufferLimitBytes).toBe(CAP_BYTES)

    const visitors: Socket[] = []
    for (let w = 0; w < WAVES; w++) {
      visitors.push(...await Promise.all(Array.from({ length: WAVE }, async () => await pusher(Number(held.remotePort)))))
      await settled(() => session.bufferedBytes)
    }
    expect(session.streamCount).toBe(WAVE * WAVES)
    console.info(`${WAVE * WAVES} visitors of a client that returns no credit: the relay buffered at most ${session.bufferedMaxBytes} bytes for them (cap ${CAP_BYTES}), ${session.bufferedBytes} now`)
    // Without the cap every visitor's stream held its queue's mark and a read more (about 9 MiB
    // for these 48); with it, the first wave crosses the cap and the later ones add nothing.
    expect(session.bufferedMaxBytes).toBeLessThanOrEqual(CAP_BYTES + WAVE * (STREAM_SEND_HWM_BYTES + SOCKET_READ_BYTES))
    expect(session.bufferedBytes).toBeLessThanOrEqual(CAP_BYTES + WAVE * (STREAM_SEND_HWM_BYTES + SOCKET_READ_BYTES))
    expect(session.bufferPauses).toBeGreaterThan(0)
    // The visitors are still connected, just not read: backpressure, not resets.
    expect(visitors.filter((s) => !s.destroyed)).toHaveLength(WAVE * WAVES)
    // A stream of the same client that gets credit is not held up by the others.
    expect(await echoOnce(Number(echo.remotePort), Buffer.alloc(4 * SOCKET_READ_BYTES, 0x62))).toBe(true)
    expect(session.closed).toBe(false)
  })
})
