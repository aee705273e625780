// Issue 22, finding 10: 4,096 idle visitor connections from one source blocked every proxy of a
// client (they took every stream its session allows), and the relay-wide visitor budget had no
// per-source share. Now a source (an IPv4 address, an IPv6 /64) holds at most
// maxVisitorsPerSource connections on one tcp proxy, a quarter of a client's streams over all
// its proxies, and maxConnectionsPerSource on the relay; past them it is shed (reset, counted)
// while other sources still get in. Visitors from 127.0.0.2 play the hostile source, the honest
// visitor comes from 127.0.0.1; the client is a raw session that echoes every stream.
import { connect, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { clientStreamsPerSource } from '../../server/source-counts.js'
import type { Relay } from '../../server/index.js'
import { MessageType } from '../../shared/wire/control.js'
import { closeInProcess, rawControl, startRelayInProcess } from '../helpers/in-process.js'
import { closeServices, echoOnce } from '../helpers/services.js'

const HOSTILE = '127.0.0.2'
const CONNECT_CONCURRENCY = 100
const DEADLINE_MS = 20_000

const sockets: Socket[] = []

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  await closeInProcess()
  await closeServices()
})

/** Opens `n` idle connections from `source` (each resolves once connected or closed). */
async function idle (port: number, n: number, source = HOSTILE): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, n) }, async () => {
    while (next < n) {
      next++
      const socket = connect({ host: '127.0.0.1', port, localAddress: source })
      sockets.push(socket)
      socket.on('error', () => {})
      await new Promise<void>((resolve) => { socket.once('connect', resolve); socket.once('close', () => { resolve() }) })
    }
  }))
}

/** A proxy's visitors as the relay counts them: open streams, and those closed at once. */
function visitors (relay: Relay, proxy: string): { active: number, dropped: number } {
  const p = relay.sessions()[0]?.proxies().find((x) => x.name === proxy)
  const m = p?.metrics()
  return { active: m?.streams?.active ?? 0, dropped: m?.dropped ?? 0 }
}

async function until (what: string, check: () => boolean): Promise<void> {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > DEADLINE_MS) throw new Error(`not within ${DEADLINE_MS} ms: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

async function echoClient (port: number, proxies: string[]): Promise<Record<string, number>> {
  const raw = await rawControl(port, 'echoes')
  raw.send({ type: MessageType.REGISTER, proxies: proxies.map((name) => ({ name, type: 'tcp', remotePort: 0 })) })
  const ports: Record<string, number> = {}
  for (const name of proxies) ports[name] = Number((await raw.waitFor((m) => m.type === MessageType.PROXY_RESULT && m.name === name)).remotePort)
  return ports
}

describe('issue 22: idle visitors from one source', () => {
  it('get maxVisitorsPerSource of one proxy and maxConnectionsPerSource of the relay; the rest are shed and other sources still get in', async () => {
    const { relay, port } = await startRelayInProcess('maxVisitorsPerSource: 16\nmaxConnectionsPerSource: 24\n')
    const ports = await echoClient(port, ['a', 'b'])
    await idle(ports.a ?? 0, 40)
    await until('every visitor of a admitted or shed', () => { const v = visitors(relay, 'a'); return v.active + v.dropped === 40 })
    expect(visitors(relay, 'a')).toEqual({ active: 16, dropped: 24 })
    expect(await echoOnce(ports.a ?? 0)).toBe(true)
    // On the second proxy the source has only what is left of its relay-wide share.
    await idle(ports.b ?? 0, 40)
    await until('every visitor of b admitted or shed', () => { const v = visitors(relay, 'b'); return v.active + v.dropped === 40 })
    expect(visitors(relay, 'b')).toEqual({ active: 8, dropped: 32 })
    expect(await echoOnce(ports.b ?? 0)).toBe(true)
    expect(relay.budgetStats.shedBySource).toEqual({ maxVisitorsPerSource: 24, clientShare: 0, maxConnectionsPerSource: 32 })
    // Shed means reset at once, not left hanging.
    await until('the shed visitors closed', () => sockets.filter((s) => s.destroyed).length === 24 + 32)
    // When the source's visitors leave, it may come back.
    for (const s of sockets.splice(0)) s.destroy()
    await until('the visitors gone', () => visitors(relay, 'a').active === 0 && visitors(relay, 'b').active === 0)
    await idle(ports.b ?? 0, 4)
    await until('the newcomers admitted', () => visitors(relay, 'b').active === 4)
  })

  it('never take more than a quarter of a client\'s streams, whatever the per-proxy and relay-wide caps', async () => {
    // transport.maxStreams (issue 21) sets the client's streams; the share follows it.
    const { relay, port } = await startRelayInProcess('maxVisitorsPerSource: 0\nmaxConnectionsPerSource: 0\ntransport:\n  maxStreams: 4096\n')
    const ports = await echoClient(port, ['a'])
    const share = clientStreamsPerSource(4096)
    expect(share).toBe(1024)
    const tries = share + 76
    await idle(ports.a ?? 0, tries)
    await until('every visitor admitted or shed', () => { const v = visitors(relay, 'a'); return v.active + v.dropped === tries })
    expect(visitors(relay, 'a')).toEqual({ active: share, dropped: 76 })
    expect(relay.budgetStats.shedBySource.clientShare).toBe(76)
    expect(await echoOnce(ports.a ?? 0)).toBe(true)
  })
})
