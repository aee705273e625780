// A visitor cut off by its proxy's unregister, or by a stream reset, sees a reset and a close,
// never a clean end. Node 20's libuv (1.46) reads a socket once per wakeup and, when that read is
// short and the kernel also reports a hang-up, reports end-of-file without reading again: a
// visitor whose last bytes and the RST right behind them are both waiting when it wakes sees
// 'end' instead of ECONNRESET, and with allowHalfOpen it then waits for ever on a connection
// that is gone. The relay wrote a stream's bytes to the visitor and reset it in the same
// event-loop turn whenever the bytes and the unregister came in one read of the control
// connection (the flaky "closes the proxy port and resets its visitors" test, seen under load).
// Here the client puts the bytes and the cut in one record, so they reach the relay together
// every time: before the fix the first case hung in every round.
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { bridge } from '../../shared/mux/bridge.js'
import type { MuxStream } from '../../shared/mux/stream.js'
import { encodeControlMessage, MessageType } from '../../shared/wire/control.js'
import { encodeHeader, FrameType, ResetCode } from '../../shared/wire/frame.js'
import { closeInProcess, rawControl, startRelayInProcess, type RawControl } from '../helpers/in-process.js'
import { muxPair, type MuxPair } from '../helpers/mux-pair.js'
import { closeServices, connectTo, readAll, startServer, type Reply } from '../helpers/services.js'

/** A hang, the defect, ends here: long enough for a busy machine, short next to the test timeout. */
const CLOSE_WAIT_MS = 10_000
/** Rounds per case; each one puts the bytes and the cut together. */
const ROUNDS = 5

let pair: MuxPair | undefined
afterEach(async () => {
  pair?.close()
  pair = undefined
  await closeInProcess()
  await closeServices()
})

type Msg = Record<string, unknown>

async function registerTcp (raw: RawControl, name: string, id: number): Promise<number> {
  const from = raw.messages.length
  raw.send({ type: MessageType.REGISTER, id, proxies: [{ name, type: 'tcp', remotePort: 0 }] })
  const r = await raw.waitFor((m: Msg) => m.type === MessageType.PROXY_RESULT && m.name === name && m.id === id, from)
  expect(r).toMatchObject({ ok: true })
  return r.remotePort as number
}

/** A visitor (allowHalfOpen, as a proxying visitor is) and its stream, held by the raw client without an echo. */
async function visitorWithStream (raw: RawControl, port: number): Promise<{ visitor: Socket, stream: MuxStream }> {
  const before = raw.streams.length
  const visitor = await connectTo(port)
  await expect.poll(() => raw.streams.length).toBe(before + 1)
  return { visitor, stream: raw.streams[before] as MuxStream }
}

/** A DATA frame for stream `id`, as the client's session would send it. */
function dataFrame (id: number, text: string): Buffer[] {
  const payload = Buffer.from(text)
  return [encodeHeader(FrameType.DATA, 0, id, payload.length), payload]
}

function unregisterFrame (name: string, id: number): Buffer[] {
  const payload = encodeControlMessage({ type: MessageType.UNREGISTER, name, id })
  return [encodeHeader(FrameType.CONTROL, 0, 0, payload.length), payload]
}

describe('a visitor whose last bytes and cut arrive together sees a reset and a close', () => {
  it('sees ECONNRESET, not a clean end, when its proxy is unregistered in the same record as the stream\'s last bytes', async () => {
    const { port } = await startRelayInProcess()
    const a = await rawControl(port, 'client-a', undefined, undefined, { hold: () => true })
    for (let round = 0; round < ROUNDS; round++) {
      const name = `p${round}`
      const proxyPort = await registerTcp(a, name, 2 * round + 1)
      const { visitor, stream } = await visitorWithStream(a, proxyPort)
      const closed = readAll(visitor, { timeoutMs: CLOSE_WAIT_MS })
      a.wire.write([...dataFrame(stream.id, 'last bytes'), ...unregisterFrame(name, 2 * round + 2)])
      expect((await closed).closedBy).toBe('ECONNRESET')
    }
  })

  it('sees ECONNRESET, not a clean end, when the client resets the stream in the same record as its last bytes', async () => {
    const { port } = await startRelayInProcess()
    const a = await rawControl(port, 'client-a', undefined, undefined, { hold: () => true })
    const proxyPort = await registerTcp(a, 'p', 1)
    for (let round = 0; round < ROUNDS; round++) {
      const { visitor, stream } = await visitorWithStream(a, proxyPort)
      const closed = readAll(visitor, { timeoutMs: CLOSE_WAIT_MS })
      a.wire.write([...dataFrame(stream.id, 'last bytes'), encodeHeader(FrameType.RESET, 0, stream.id, ResetCode.SOCKET_ERROR)])
      expect((await closed).closedBy).toBe('ECONNRESET')
    }
  })

  it('gets the bytes it has read and then a reset when its proxy is unregistered afterwards', async () => {
    const { port } = await startRelayInProcess()
    const a = await rawControl(port, 'client-a', undefined, undefined, { hold: () => true })
    const proxyPort = await registerTcp(a, 'p', 1)
    const { visitor, stream } = await visitorWithStream(a, proxyPort)
    const reply = readAll(visitor, { keep: true, timeoutMs: CLOSE_WAIT_MS })
    let got = 0
    visitor.on('data', (chunk: Buffer) => { got += chunk.length })
    stream.write(Buffer.from('answer'))
    await expect.poll(() => got).toBe(6)
    a.session.sendControl({ type: MessageType.UNREGISTER, name: 'p', id: 2 })
    const r = await reply
    expect(r.data?.toString('utf8')).toBe('answer')
    expect(r.closedBy).toBe('ECONNRESET')
  })

  it('a local service bridged by the client sees ECONNRESET when the relay writes and resets its stream in one go', async () => {
    // The client bridges its local services with the same code: checked on a bare mux pair whose
    // far end writes the DATA and RESET frames in one write.
    pair = await muxPair()
    const accepted: Array<Promise<Reply>> = []
    const service = await startServer((socket) => { accepted.push(readAll(socket, { timeoutMs: CLOSE_WAIT_MS })) })
    for (let round = 0; round < ROUNDS; round++) {
      const near = await connectTo(service.port)
      await expect.poll(() => accepted.length).toBe(round + 1)
      const opened = new Promise<MuxStream>((resolve) => { pair?.client.once('stream', resolve) })
      const far = pair.server.openStream({ proxy: 'p', visitor: { address: '127.0.0.1', port: 1 }, listener: { address: '127.0.0.1', port: 2 } })
      const mine = await opened
      mine.accept()
      bridge(mine, near)
      pair.serverSocket.write(Buffer.concat([...dataFrame(far.id, 'last bytes'), encodeHeader(FrameType.RESET, 0, far.id, ResetCode.SOCKET_ERROR)]))
      expect((await accepted[round])?.closedBy).toBe('ECONNRESET')
    }
  })
})
