import { createSocket, type Socket } from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { StunServer } from '../../server/stun/index.js'
import { silentLogger } from '../../shared/log.js'
import { CHANGE_IP, CHANGE_PORT, type DatagramEndpoint, decodeStun, encodeStun, newTransactionId, pairAdvice, probeNat, STUN_METHOD_BINDING, StunClass, type StunAddress, stunRequest } from '../../shared/stun/index.js'

const sockets: Socket[] = []
const servers: StunServer[] = []
afterEach(() => {
  for (const s of sockets.splice(0)) s.close()
  for (const s of servers.splice(0)) s.close()
})

async function udpEndpoint (): Promise<DatagramEndpoint> {
  const s = createSocket('udp4')
  sockets.push(s)
  await new Promise<void>((resolve) => { s.bind(0, '127.0.0.1', resolve) })
  return {
    send: (m, port, host) => { s.send(m, port, host) },
    onMessage: (cb) => {
      const h = (m: Buffer, r: { address: string, port: number }): void => { cb(m, { host: r.address, port: r.port }) }
      s.on('message', h)
      return () => { s.off('message', h) }
    },
    localPort: () => s.address().port,
  }
}

/**
 * A STUN server with two ports behind a NAT in memory: `symmetric` gives each destination its own
 * public port; `portFilter` drops answers from a port the client never sent to.
 */
function behindFakeNat (nat: { symmetric: boolean, portFilter: boolean, preserve: boolean }): DatagramEndpoint {
  const LOCAL_PORT = 40000
  const server = { host: '198.51.100.1', ports: [3478, 3479] }
  let listener: ((m: Buffer, from: StunAddress) => void) | undefined
  const mappings = new Map<string, number>()
  /** Per public port: the server ports it sent to (what a port filter lets in). */
  const sentTo = new Map<number, Set<number>>()
  let next = nat.preserve ? LOCAL_PORT : 50000
  const publicPort = (dest: number): number => {
    const key = nat.symmetric ? String(dest) : 'any'
    let p = mappings.get(key)
    if (p === undefined) { p = next++; mappings.set(key, p) }
    return p
  }
  return {
    send: (m, port) => {
      const pub = publicPort(port)
      sentTo.set(pub, (sentTo.get(pub) ?? new Set()).add(port))
      const req = decodeStun(m)
      if (req === undefined) return
      const mapped = { host: '203.0.113.7', port: pub }
      const from = ((req.changeRequest ?? 0) & CHANGE_PORT) !== 0 ? server.ports.find((p) => p !== port) ?? port : port
      if (nat.portFilter && sentTo.get(pub)?.has(from) !== true) return
      const other = { host: server.host, port: server.ports.find((p) => p !== port) ?? port }
      const answer = encodeStun({ cls: StunClass.SUCCESS, method: STUN_METHOD_BINDING, transactionId: req.transactionId, mapped, otherAddress: other })
      queueMicrotask(() => { listener?.(answer, { host: server.host, port: from }) })
    },
    onMessage: (cb) => { listener = cb; return () => { listener = undefined } },
    localPort: () => LOCAL_PORT,
  }
}

describe('STUN messages', () => {
  it('round-trips a Binding answer with IPv4 and IPv6 addresses and the RFC 5780 attributes', () => {
    const transactionId = newTransactionId()
    for (const host of ['192.0.2.1', '2001:db8::1', '::', '2001:db8:0:0:1:0:0:1']) {
      const m = { cls: StunClass.SUCCESS, method: STUN_METHOD_BINDING, transactionId, mapped: { host, port: 32853 }, otherAddress: { host, port: 3479 }, responseOrigin: { host, port: 3478 }, software: 'x' }
      const back = decodeStun(encodeStun(m))
      expect(back?.mapped?.port).toBe(32853)
      expect(back?.otherAddress?.port).toBe(3479)
      expect(back?.cls).toBe(StunClass.SUCCESS)
      expect(back?.transactionId.equals(transactionId)).toBe(true)
    }
    expect(decodeStun(encodeStun({ cls: StunClass.SUCCESS, method: 1, transactionId, mapped: { host: '2001:db8::1', port: 1 } }))?.mapped?.host).toBe('2001:db8::1')
    expect(decodeStun(encodeStun({ cls: StunClass.REQUEST, method: 1, transactionId, changeRequest: CHANGE_PORT | CHANGE_IP }))?.changeRequest).toBe(CHANGE_PORT | CHANGE_IP)
    expect(decodeStun(encodeStun({ cls: StunClass.ERROR, method: 1, transactionId, errorCode: 420 }))?.errorCode).toBe(420)
  })

  it('reads RFC 5769\'s sample IPv4 answer (XOR-MAPPED-ADDRESS 192.0.2.1:32853)', () => {
    // RFC 5769 §2.2, without MESSAGE-INTEGRITY and FINGERPRINT (tunnel does not use them).
    const tid = Buffer.from('b7e7a701bc34d686fa87dfae', 'hex')
    const b = Buffer.concat([Buffer.from('0101000c2112a442', 'hex'), tid, Buffer.from('002000080001a147e112a643', 'hex')])
    expect(decodeStun(b)?.mapped).toEqual({ host: '192.0.2.1', port: 32853 })
  })

  it('refuses truncated, oversized, badly padded and non-STUN packets without throwing', () => {
    const good = encodeStun({ cls: StunClass.REQUEST, method: 1, transactionId: newTransactionId(), changeRequest: CHANGE_PORT })
    expect(decodeStun(good)).toBeDefined()
    for (let n = 0; n < good.length; n++) expect(decodeStun(good.subarray(0, n))).toBeUndefined()
    expect(decodeStun(Buffer.concat([good, Buffer.alloc(4)]))).toBeUndefined()
    expect(decodeStun(Buffer.alloc(600))).toBeUndefined()
    expect(decodeStun(Buffer.from('TXP1 not stun at all, just bytes'))).toBeUndefined()
  })
})

describe('the relay\'s STUN server and the NAT probe', () => {
  it('answers Binding requests on both ports and from the other port on CHANGE-REQUEST(port); refuses a change of address with 420', async () => {
    const server = new StunServer(silentLogger())
    servers.push(server)
    const { port, altPort } = await server.start('127.0.0.1', 0, 0)
    const ep = await udpEndpoint()
    const first = await stunRequest(ep, { host: '127.0.0.1', port })
    expect(first?.message.mapped).toEqual({ host: '127.0.0.1', port: ep.localPort() })
    expect(first?.message.otherAddress?.port).toBe(altPort)
    const changed = await stunRequest(ep, { host: '127.0.0.1', port }, { changeRequest: CHANGE_PORT })
    expect(changed?.from.port).toBe(altPort)
    const ip = await stunRequest(ep, { host: '127.0.0.1', port }, { changeRequest: CHANGE_IP })
    expect(ip?.message.errorCode).toBe(420)
    expect(server.stats).toMatchObject({ requests: 3, answers: 3 })
  })

  it('drops what is not a Binding request, and stops answering past its rate', async () => {
    const server = new StunServer(silentLogger(), 2)
    servers.push(server)
    const { port } = await server.start('127.0.0.1', 0, 0)
    const ep = await udpEndpoint()
    ep.send(Buffer.from('hello'), port, '127.0.0.1')
    const answers = []
    for (let i = 0; i < 3; i++) answers.push(await stunRequest(ep, { host: '127.0.0.1', port }, { transmissions: 1, rtoMs: 300 }))
    expect(answers.filter((a) => a !== undefined)).toHaveLength(2)
    expect(server.stats.malformed).toBe(1)
    expect(server.stats.limited).toBe(1)
  })

  it('classifies loopback as no NAT when the address is its own, endpoint-independent otherwise', async () => {
    const server = new StunServer(silentLogger())
    servers.push(server)
    const { port } = await server.start('127.0.0.1', 0, 0)
    const own = await probeNat(await udpEndpoint(), { host: '127.0.0.1', port }, { localAddresses: ['127.0.0.1'] })
    expect(own).toMatchObject({ mapping: 'none', filtering: 'address-dependent', portPreserved: true })
    const other = await probeNat(await udpEndpoint(), { host: '127.0.0.1', port })
    expect(other.mapping).toBe('endpoint-independent')
  })

  it('throws TUN_STUN_UNREACHABLE when nobody answers', async () => {
    const ep = await udpEndpoint()
    const silent = await udpEndpoint()
    await expect(probeNat(ep, { host: '127.0.0.1', port: silent.localPort() }, { rtoMs: 20 })).rejects.toMatchObject({ code: 'TUN_STUN_UNREACHABLE' })
  })

  it('tells a symmetric NAT from a port-preserving cone, and port filtering from address filtering', async () => {
    const server = { host: '198.51.100.1', port: 3478 }
    const cone = await probeNat(behindFakeNat({ symmetric: false, portFilter: false, preserve: true }), server)
    expect(cone).toMatchObject({ mapping: 'endpoint-independent', filtering: 'address-dependent', portPreserved: true })
    const sym = await probeNat(behindFakeNat({ symmetric: true, portFilter: true, preserve: false }), server, { rtoMs: 5 })
    expect(sym).toMatchObject({ mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent', portPreserved: false })
    const portRestricted = await probeNat(behindFakeNat({ symmetric: false, portFilter: true, preserve: true }), server, { rtoMs: 5 })
    expect(portRestricted).toMatchObject({ mapping: 'endpoint-independent', filtering: 'address-and-port-dependent' })
  })

  it('advises on a pair: cone + cone is direct, symmetric + symmetric uses the relay and says why', () => {
    const cone = { mapping: 'endpoint-independent', filtering: 'address-dependent' } as const
    const strictCone = { mapping: 'endpoint-independent', filtering: 'address-and-port-dependent' } as const
    const sym = { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent' } as const
    expect(pairAdvice(cone, cone)).toMatchObject({ verdict: 'direct', canPunch: true })
    expect(pairAdvice(sym, sym)).toMatchObject({ verdict: 'bothSymmetric', canPunch: false })
    expect(pairAdvice(sym, sym).advice).toContain('traffic will use the relay')
    expect(pairAdvice(sym, cone)).toMatchObject({ verdict: 'likely', canPunch: true })
    expect(pairAdvice(strictCone, sym)).toMatchObject({ verdict: 'symmetricBehindPortFilter', canPunch: false })
    expect(pairAdvice({ mapping: 'none', filtering: 'unknown' }, sym).canPunch).toBe(true)
  })
})
