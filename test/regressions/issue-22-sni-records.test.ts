// Issue 22, finding 7: a 16 KB ClientHello sent as one-byte TLS records cost the relay 0.77 s of
// CPU, because the https vhost joined everything received so far and parsed it again on every
// read. Now the reader is fed chunk by chunk and looks at each byte once, and a hello may span at
// most MAX_HELLO_RECORDS records. CPU is counted in work units (bytes looked at), not time.
import { fc, test } from '@fast-check/vitest'
import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { ClientHelloReader, type HelloResult, MAX_CLIENT_HELLO_BYTES, MAX_HELLO_RECORDS, readClientHello } from '../../server/vhost/sni.js'
import { closeInProcess } from '../helpers/in-process.js'
import { startVhostRelayInProcess } from '../helpers/vhost-in-process.js'

afterEach(async () => { await closeInProcess() })

const u16 = (n: number): Buffer => Buffer.from([(n >> 8) & 0xff, n & 0xff])

/** A ClientHello handshake message for `name`, padded (extension 21) to `size` bytes. */
function helloMessage (name: string, size: number): Buffer {
  const host = Buffer.from(name, 'latin1')
  const sni = Buffer.concat([u16(0), u16(host.length + 5), u16(host.length + 3), Buffer.from([0]), u16(host.length), host])
  const fixed = 2 + 32 + 1 + 2 + 2 + 2 + 2
  const padLen = size - 4 - fixed - sni.length - 4
  const extensions = Buffer.concat([sni, u16(21), u16(padLen), Buffer.alloc(padLen)])
  const body = Buffer.concat([Buffer.from([3, 3]), Buffer.alloc(32, 7), Buffer.from([0]), u16(2), Buffer.from([0x13, 0x01]), Buffer.from([1, 0]), u16(extensions.length), extensions])
  return Buffer.concat([Buffer.from([1, (body.length >> 16) & 0xff, (body.length >> 8) & 0xff, body.length & 0xff]), body])
}

/** `message` as TLS records of `size` bytes each. */
function records (message: Buffer, size: number): Buffer {
  const out: Buffer[] = []
  for (let off = 0; off < message.length; off += size) {
    const part = message.subarray(off, off + size)
    out.push(Buffer.from([22, 3, 1]), u16(part.length), part)
  }
  return Buffer.concat(out)
}

/** Feeds `bytes` to a reader in chunks of `chunk` bytes; the result and the work done. */
function feed (bytes: Buffer, chunk: number): HelloResult & { examined: number, records: number } {
  const reader = new ClientHelloReader()
  let r = reader.push(Buffer.alloc(0))
  for (let off = 0; off < bytes.length && r.kind === 'more'; off += chunk) r = reader.push(bytes.subarray(off, off + chunk))
  return { ...r, examined: reader.examined, records: reader.records }
}

describe('issue 22: the ClientHello reader does linear work and caps records', () => {
  it('looks at each byte of a hello cut into one-byte records and one-byte reads once', () => {
    // 600 one-byte records (3.6 KB): within the record cap.
    const bytes = records(helloMessage('one.example.test', 600), 1)
    const r = feed(bytes, 1)
    expect(r).toMatchObject({ kind: 'hello', serverName: 'one.example.test', records: 600 })
    // Every input byte once, plus the message's body parsed once: at most twice the input.
    expect(r.examined).toBeLessThanOrEqual(2 * bytes.length)
    // Joining and re-parsing on every read would have looked at n(n+1)/2 bytes.
    expect(r.examined).toBeLessThan(bytes.length * bytes.length / 100)
  })

  it('refuses the 16 KB one-byte-record hello of the attack at its record cap, having looked at no byte beyond it', () => {
    const bytes = records(helloMessage('attack.invalid', 2_700), 1)
    expect(bytes.length).toBeLessThan(MAX_CLIENT_HELLO_BYTES)
    const r = feed(bytes, 24)
    expect(r).toMatchObject({ kind: 'invalid', reason: `a ClientHello in more than ${MAX_HELLO_RECORDS} records`, records: MAX_HELLO_RECORDS + 1 })
    expect(r.examined).toBe(MAX_HELLO_RECORDS * 6 + 1)
  })

  test.prop([fc.integer({ min: 80, max: 2_000 }), fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 700 }), fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })))])('answers the same fed in any chunks as on the whole input, a byte changed or not', (size, recordSize, chunk, change) => {
    const bytes = records(helloMessage('x.example.test', size), recordSize)
    if (change !== null) bytes[change[0] % bytes.length] = change[1]
    const whole = readClientHello(bytes)
    const { examined: _e, records: _r, ...chunked } = feed(bytes, chunk)
    expect(chunked).toEqual(whole)
  })

  it('closes the attack\'s connection on the https vhost without an answer, counted as a bad hello', async () => {
    const { relay, https } = await startVhostRelayInProcess()
    const bytes = records(helloMessage('attack.invalid', 2_700), 1)
    const received = await new Promise<number>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: https, noDelay: true })
      let got = 0
      socket.on('data', (c: Buffer) => { got += c.length })
      socket.on('error', () => {})
      socket.on('close', () => { resolve(got) })
      socket.once('connect', () => {
        let off = 0
        const next = (): void => {
          if (off >= bytes.length || socket.destroyed) return
          socket.write(bytes.subarray(off, off + 24))
          off += 24
          setImmediate(next)
        }
        next()
      })
    })
    expect(received).toBe(0)
    expect(relay.vhostStats?.https).toMatchObject({ connections: 1, badHello: 1, unknownHost: 0, routed: 0 })
  })
})
