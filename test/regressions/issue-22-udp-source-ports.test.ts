// Issue 22, finding 11: one address talking from 4,200 UDP source ports held a udp proxy's flow
// table (each flow a conversation, so none could be evicted) and locked every new visitor out
// for the 120 s idle timeout. Now one source (an IPv4 address, an IPv6 /64) holds at most
// maxFlowsPerSource flows of a proxy, and a full table makes room for a newcomer from the source
// holding the most. Visitors from 127.0.0.2 play the hostile address, the newcomer comes from
// 127.0.0.1; the client is a raw session that echoes every datagram.
import { afterEach, describe, expect, it } from 'vitest'
import type { Relay } from '../../server/index.js'
import { decodeFlowOpen } from '../../shared/wire/dgram.js'
import { Flag } from '../../shared/wire/frame.js'
import { MessageType } from '../../shared/wire/control.js'
import { closeInProcess, rawControl, startRelayInProcess } from '../helpers/in-process.js'
import { closeUdp, udpVisitor, type UdpVisitor } from '../helpers/udp.js'

const HOSTILE = '127.0.0.2'
const MAX_FLOWS = 64
const HOSTILE_PORTS = 100
const DEADLINE_MS = 20_000

afterEach(async () => {
  await closeInProcess()
  await closeUdp()
})

/** A client whose udp proxy echoes every datagram (the flow-open block stripped from the first). */
async function udpEchoClient (port: number): Promise<number> {
  const raw = await rawControl(port, 'udp-echo')
  raw.session.on('datagram', (id, flags, payload) => {
    if ((flags & Flag.FIN) !== 0) return
    const data = (flags & Flag.SYN) !== 0 ? payload.subarray(decodeFlowOpen(payload).dataOffset) : payload
    raw.session.sendDatagram(id, data)
  })
  raw.send({ type: MessageType.REGISTER, proxies: [{ name: 'u', type: 'udp', remotePort: 0, idleTimeout: 120, maxFlows: MAX_FLOWS }] })
  return Number((await raw.waitFor((m) => m.type === MessageType.PROXY_RESULT && m.name === 'u')).remotePort)
}

function flows (relay: Relay): { active: number, drops: Record<string, number> } {
  const m = relay.sessions()[0]?.proxies().find((p) => p.name === 'u')?.metrics()
  return { active: m?.flows?.active ?? 0, drops: m?.udpDrops ?? {} }
}

/** No answer and no change in the relay's flow counters for this long: everything sent has been handled. */
const SETTLED_MS = 1_000

/**
 * The hostile address talks from HOSTILE_PORTS source ports, two datagrams each; resolves when
 * all answers that will come have come: neither the answers nor the relay's flows and drops have
 * moved for SETTLED_MS (on a loaded machine the relay may still be taking datagrams after a
 * shorter pause in the answers).
 */
async function talkFromManyPorts (port: number, relay: Relay): Promise<UdpVisitor[]> {
  const visitors = await Promise.all(Array.from({ length: HOSTILE_PORTS }, async () => await udpVisitor(port, 4, HOSTILE)))
  for (const v of visitors) { v.send('x'); v.send('y') }
  const started = Date.now()
  let last = ''
  let since = Date.now()
  for (;;) {
    const answered = visitors.reduce((n, v) => n + v.received.length, 0)
    const f = flows(relay)
    const now = `${answered} ${f.active} ${JSON.stringify(f.drops)}`
    if (now !== last) { last = now; since = Date.now() }
    if (Date.now() - since > SETTLED_MS) return visitors
    if (Date.now() - started > DEADLINE_MS) throw new Error('the echoes did not settle')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('issue 22: one address with many UDP source ports', () => {
  it('holds at most maxFlowsPerSource flows of a proxy; its other ports are dropped and counted, and a new visitor elsewhere gets a flow', async () => {
    const { relay, port } = await startRelayInProcess('maxFlowsPerSource: 32\n')
    const public_ = await udpEchoClient(port)
    const hostile = await talkFromManyPorts(public_, relay)
    expect(flows(relay).active).toBe(32)
    const talking = hostile.filter((v) => v.received.length === 2)
    expect(talking).toHaveLength(32)
    // Its 32 conversations stay; every other port of it that tries again is dropped and counted.
    const others = hostile.filter((v) => v.received.length < 2)
    const before = flows(relay).drops.sourceFlowLimit ?? 0
    for (const v of others) v.send('again')
    const started = Date.now()
    while ((flows(relay).drops.sourceFlowLimit ?? 0) - before < others.length && Date.now() - started < DEADLINE_MS) await new Promise((resolve) => setTimeout(resolve, 20))
    expect((flows(relay).drops.sourceFlowLimit ?? 0) - before).toBe(others.length)
    expect(flows(relay).active).toBe(32)
    const newcomer = await udpVisitor(public_)
    newcomer.send('hello')
    await newcomer.waitFor(1)
    expect(newcomer.received.map(String)).toEqual(['hello'])
  })

  it('when its conversations fill the table, a new visitor from another address still gets a flow (one of the busiest source\'s gives way)', async () => {
    const { relay, port } = await startRelayInProcess('maxFlowsPerSource: 0\n')
    const public_ = await udpEchoClient(port)
    await talkFromManyPorts(public_, relay)
    expect(flows(relay).active).toBe(MAX_FLOWS)
    const newcomer = await udpVisitor(public_)
    newcomer.send('hello')
    await newcomer.waitFor(1)
    expect(newcomer.received.map(String)).toEqual(['hello'])
    expect(flows(relay).active).toBe(MAX_FLOWS)
  })
})
