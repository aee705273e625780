// The stcp visitor in one process: its local listener, and visits opened on one end of a
// loopback mux pair whose other end plays the home side (echoing, or refusing). Bytes both
// ways with half-close, the counters status reads, refusals resetting the local connection and
// counted by reason, close() resetting what is open, no listener for bindPort < 0.
import { connect, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { StcpVisitor } from '../../client/visitors/stcp.js'
import { VisitOpener } from '../../client/visitors/visit-opener.js'
import type { VisitorConfig } from '../../shared/config/index.js'
import { silentLogger } from '../../shared/log.js'
import { MuxDuplex } from '../../shared/mux/duplex.js'
import type { MuxStream } from '../../shared/mux/index.js'
import { Secret } from '../../shared/secret.js'
import { Capability, ResetCode } from '../../shared/wire/index.js'
import { muxPair, type MuxPair } from '../helpers/mux-pair.js'
import { closeServices, holdPort } from '../helpers/services.js'

const pairs: MuxPair[] = []
const visitors: StcpVisitor[] = []
const sockets: Socket[] = []

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  for (const v of visitors.splice(0)) v.close()
  for (const p of pairs.splice(0)) p.close()
  await closeServices()
})

const config = (extra: Partial<VisitorConfig> = {}): VisitorConfig => ({ name: 'ssh', type: 'stcp', serverName: 'ssh', serverUser: 'home', secretKey: new Secret(Buffer.from('a-long-random-secret-for-tests')), bindAddr: '127.0.0.1', bindPort: 0, ...extra })

/** A visitor whose visits arrive at `home` on the other end of a mux pair (none: not connected). */
async function setup (home: ((s: MuxStream) => void) | undefined, extra: Partial<VisitorConfig> = {}): Promise<{ v: StcpVisitor, port: number }> {
  const opener = new VisitOpener('laptop')
  if (home !== undefined) {
    const pair = await muxPair()
    pairs.push(pair)
    pair.server.on('stream', home)
    opener.attach(pair.client, new Set([Capability.VISIT]))
  }
  const v = new StcpVisitor(config(extra), { opener, log: silentLogger(), user: 'laptop' })
  visitors.push(v)
  await v.start()
  return { v, port: Number((v.local ?? ':0').split(':').pop()) }
}

/** Home side that answers `home:` and echoes, ending when the visitor ends. */
const echoHome = (s: MuxStream): void => {
  s.accept()
  const d = new MuxDuplex(s)
  d.on('error', () => {})
  d.write('home:')
  d.pipe(d)
}

/** Connects, writes `text` (then FIN), and resolves with what came back and how it ended. */
async function talk (port: number, text: string, end = true): Promise<{ data: string, error: string | undefined, socket: Socket }> {
  const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true })
  sockets.push(socket)
  return await new Promise((resolve) => {
    let data = ''
    let error: string | undefined
    socket.on('data', (c: Buffer) => { data += c.toString() })
    socket.on('error', (e: NodeJS.ErrnoException) => { error = e.code })
    socket.once('close', () => { resolve({ data, error, socket }) })
    socket.once('connect', () => { if (end) socket.end(text); else socket.write(text) })
  })
}

describe('the stcp visitor', () => {
  it('carries bytes both ways through a visit, half-close included, and counts streams and bytes', async () => {
    const { v, port } = await setup(echoHome)
    expect(v.target).toBe('home.ssh')
    const r = await talk(port, 'hello')
    expect(r.data).toBe('home:hello')
    expect(r.error).toBeUndefined()
    await expect.poll(() => v.stats().streams).toEqual({ active: 0, total: 1 })
    expect(v.stats()).toMatchObject({ bytesIn: 5, bytesOut: 10, flows: null, udpDrops: null })
  })

  it('resets the local connection when not connected to a relay, and counts it offline', async () => {
    const { v, port } = await setup(undefined)
    const r = await talk(port, 'x')
    expect(r.error).toBe('ECONNRESET')
    expect(v.stats().refusals.offline).toBe(1)
    expect(v.stats().streams).toEqual({ active: 0, total: 0 })
  })

  it('resets the local connection when the visit is refused, and counts the reason', async () => {
    const { v, port } = await setup((s) => { s.reset(ResetCode.FORBIDDEN) })
    const r = await talk(port, 'x', false)
    expect(r.error).toBe('ECONNRESET')
    await expect.poll(() => v.stats().refusals.refused).toBe(1)
  })

  it('resets its open visits when closed and takes no more connections', async () => {
    let seen: MuxStream | undefined
    const { v, port } = await setup((s) => { seen = s; s.accept() })
    const pending = talk(port, 'x', false)
    await expect.poll(() => seen !== undefined && v.stats().streams?.active === 1).toBe(true)
    v.close()
    v.close()
    const r = await pending
    expect(r.error).toBe('ECONNRESET')
    await expect.poll(() => seen?.closed).toBe(true)
    expect(v.stats().streams?.active).toBe(0)
  })

  it('opens no listener for bindPort < 0, and fails to start on a port another socket holds', async () => {
    const { v } = await setup(undefined, { bindPort: -1 })
    expect(v.local).toBeNull()
    const held = await holdPort()
    const busy = new StcpVisitor(config({ bindPort: held.port }), { opener: new VisitOpener('laptop'), log: silentLogger(), user: 'laptop' })
    visitors.push(busy)
    await expect(busy.start()).rejects.toMatchObject({ code: 'TUN_PORT_IN_USE' })
  })
})
