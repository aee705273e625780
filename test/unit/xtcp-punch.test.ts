// The xtcp introduction and punching, without a relay: two sockets on loopback, the keys the two
// sides derive, and a stranger who sends punch packets without the secret.
import { createSocket, type Socket } from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { decodePunch, derivePathKeys, encodeIntro, encodePunch, IntroReader, INTRO_VERSION, newKeyShare, openIntro, PUNCH_PACKET_BYTES, PunchType } from '../../client/p2p/intro.js'
import { punch, type PunchIo } from '../../client/p2p/punch.js'
import { TunnelError } from '../../shared/errors.js'

const sockets: Socket[] = []
afterEach(() => { for (const s of sockets.splice(0)) s.close() })

async function udp (): Promise<{ io: PunchIo, port: number, socket: Socket }> {
  const socket = createSocket('udp4')
  sockets.push(socket)
  await new Promise<void>((resolve) => { socket.bind(0, '127.0.0.1', resolve) })
  return {
    socket,
    port: socket.address().port,
    io: {
      send: (b, port, host) => { socket.send(b, port, host) },
      onMessage: (cb) => {
        const h = (m: Buffer, r: { address: string, port: number }): void => { cb(m, { host: r.address, port: r.port }) }
        socket.on('message', h)
        return () => { socket.off('message', h) }
      },
    },
  }
}

describe('the xtcp introduction', () => {
  const homeKey = randomBytes(32)

  it('gives both sides the same path keys, and different ones to a relay that swaps key shares', () => {
    const v = newKeyShare()
    const h = newKeyShare()
    const offer = encodeIntro({ v: INTRO_VERSION, pub: v.publicRaw.toString('base64'), candidates: [{ host: '127.0.0.1', port: 1000, kind: 'local' }], nat: null }, homeKey, 'offer')
    const answer = encodeIntro({ v: INTRO_VERSION, pub: h.publicRaw.toString('base64'), candidates: [], nat: null }, homeKey, 'answer', offer.json)
    const atVisitor = derivePathKeys(v, h.publicRaw.toString('base64'), homeKey, offer.json, answer.json)
    const atHome = derivePathKeys(h, v.publicRaw.toString('base64'), homeKey, offer.json, answer.json)
    expect(atVisitor).toEqual(atHome)
    const mallory = newKeyShare()
    expect(derivePathKeys(v, mallory.publicRaw.toString('base64'), homeKey, offer.json, answer.json).punch.equals(atVisitor.punch)).toBe(false)
  })

  it('refuses an offer altered on the way (a candidate changed) or sealed with another secret', () => {
    const v = newKeyShare()
    const offer = encodeIntro({ v: INTRO_VERSION, pub: v.publicRaw.toString('base64'), candidates: [{ host: '192.0.2.1', port: 1000, kind: 'mapped' }], nat: null }, homeKey, 'offer')
    const reader = new IntroReader()
    const frame = reader.push(offer.frame)
    expect(frame).toBeDefined()
    if (frame === undefined) return
    expect(openIntro(frame, homeKey, 'offer').candidates[0]?.host).toBe('192.0.2.1')
    const altered = { json: Buffer.from(frame.json.toString().replace('192.0.2.1', '203.0.113.9')), mac: frame.mac }
    expect(() => openIntro(altered, homeKey, 'offer')).toThrow(TunnelError)
    expect(() => openIntro(frame, randomBytes(32), 'offer')).toThrow(TunnelError)
    // An answer does not verify as an offer (labels differ).
    expect(() => openIntro(frame, homeKey, 'answer')).toThrow(TunnelError)
  })

  it('refuses an oversized introduction before reading it', () => {
    const head = Buffer.alloc(2)
    head.writeUInt16BE(60_000)
    expect(() => new IntroReader().push(head)).toThrow(TunnelError)
  })
})

describe('punching', () => {
  it('gets both sides through on loopback and names the peer\'s address', async () => {
    const key = randomBytes(32)
    const a = await udp()
    const b = await udp()
    const [ra, rb] = await Promise.all([
      punch(a.io, key, 'visitor', [{ host: '127.0.0.1', port: b.port, kind: 'local' }], { timeoutMs: 3000 }),
      punch(b.io, key, 'home', [{ host: '127.0.0.1', port: a.port, kind: 'local' }], { timeoutMs: 3000 }),
    ])
    expect(ra.peer).toEqual({ host: '127.0.0.1', port: b.port })
    expect(rb.peer).toEqual({ host: '127.0.0.1', port: a.port })
  })

  it('creates no path from punch packets forged without the secret (a raw UDP sender), and counts them', async () => {
    const key = randomBytes(32)
    const home = await udp()
    const stranger = await udp()
    const strangerKey = randomBytes(32)
    // The stranger sends well-formed PUNCHes and ACKs under its own key, and random bytes of the right size.
    const flood = setInterval(() => {
      stranger.io.send(encodePunch(strangerKey, { type: PunchType.PUNCH, role: 'visitor', echo: Buffer.alloc(12) }).bytes, home.port, '127.0.0.1')
      stranger.io.send(encodePunch(strangerKey, { type: PunchType.ACK, role: 'visitor', echo: randomBytes(12) }).bytes, home.port, '127.0.0.1')
      stranger.io.send(Buffer.concat([Buffer.from('TXP1'), randomBytes(PUNCH_PACKET_BYTES - 4)]), home.port, '127.0.0.1')
    }, 20)
    const heard: Buffer[] = []
    stranger.socket.on('message', (m) => { heard.push(m) })
    const r = await punch(home.io, key, 'home', [{ host: '127.0.0.1', port: 9, kind: 'local' }], { timeoutMs: 600 })
    clearInterval(flood)
    expect(r.peer).toBeUndefined()
    expect(r.forged).toBeGreaterThan(0)
    // Nothing was sent back to the stranger: a forged PUNCH gets no ACK.
    expect(heard).toHaveLength(0)
  })

  it('refuses captured punch packets replayed from anywhere (a PUNCH seen before, an ACK already used), answers none of them, and counts them', async () => {
    const key = randomBytes(32)
    const a = await udp()
    const b = await udp()
    const eve = await udp()
    // Capture what the visitor sends the home side, as an on-path sender would.
    const captured: Buffer[] = []
    b.socket.on('message', (m) => { if (captured.length < 40) captured.push(Buffer.from(m)) })
    const refusedAtB: string[] = []
    const [ra, rb] = await Promise.all([
      punch(a.io, key, 'visitor', [{ host: '127.0.0.1', port: b.port, kind: 'local' }], { timeoutMs: 3000 }),
      punch(b.io, key, 'home', [{ host: '127.0.0.1', port: a.port, kind: 'local' }], { timeoutMs: 3000, onRefused: (reason) => { refusedAtB.push(reason) } }),
    ])
    expect(ra.peer?.port).toBe(b.port)
    expect(rb.peer?.port).toBe(a.port)
    const heard: Buffer[] = []
    eve.socket.on('message', (m) => { heard.push(m) })
    const replays = captured.filter((m) => decodePunch(key, m) !== undefined)
    expect(replays.length).toBeGreaterThan(0)
    for (const m of replays) eve.io.send(m, b.port, '127.0.0.1')
    await new Promise((resolve) => setTimeout(resolve, 200))
    // Every replay was refused (still inside the linger), and none got an ACK.
    expect(refusedAtB.filter((r) => r === 'replayed')).toHaveLength(replays.length)
    expect(heard).toHaveLength(0)
  })

  it('verifies punch packets only under their key and role', () => {
    const key = randomBytes(32)
    const { bytes } = encodePunch(key, { type: PunchType.PUNCH, role: 'home', echo: Buffer.alloc(12) })
    expect(decodePunch(key, bytes)).toMatchObject({ type: PunchType.PUNCH, role: 'home' })
    expect(decodePunch(randomBytes(32), bytes)).toBeUndefined()
    const flipped = Buffer.from(bytes)
    flipped[5] = 1
    expect(decodePunch(key, flipped)).toBeUndefined()
    expect(decodePunch(key, bytes.subarray(1))).toBeUndefined()
  })
})
