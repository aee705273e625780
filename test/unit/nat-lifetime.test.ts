// The UDP mapping lifetime probe (`tunnel diag nat --lifetime`): the relay's STUN server answers
// at RESPONSE-PORT (the asker's own address only), and the probe brackets how long an idle mapping
// lives, here against a NAT in memory whose mappings expire after a set idle time (fake timers).
import { createSocket, type Socket } from 'node:dgram'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { StunServer } from '../../server/stun/index.js'
import { silentLogger } from '../../shared/log.js'
import { decodeStun, describeLifetime, dgramEndpoint, type DisposableEndpoint, encodeStun, lifetimeWaits, MAX_LIFETIME_PROBES, newTransactionId, probeMappingLifetime, STUN_METHOD_BINDING, StunClass, type StunAddress } from '../../shared/stun/index.js'
import { TunnelError } from '../../shared/errors.js'

const sockets: Socket[] = []
const servers: StunServer[] = []
afterEach(() => {
  vi.useRealTimers()
  for (const s of sockets.splice(0)) s.close()
  for (const s of servers.splice(0)) s.close()
})

/** A NAT in memory in front of a STUN server that honours RESPONSE-PORT: a mapping idle for `expiryMs` is gone. */
function fakeNat (expiryMs: number): { open: () => Promise<DisposableEndpoint>, server: StunAddress } {
  const server = { host: '198.51.100.1', port: 3478 }
  const PUBLIC = '203.0.113.7'
  let nextPort = 40000
  const mappings = new Map<number, { lastActive: number, deliver: ((m: Buffer, from: StunAddress) => void) | undefined, closed: boolean }>()
  const open = async (): Promise<DisposableEndpoint> => {
    const port = nextPort++
    const m = { lastActive: Date.now(), deliver: undefined as ((m: Buffer, from: StunAddress) => void) | undefined, closed: false }
    mappings.set(port, m)
    return {
      send: (bytes) => {
        m.lastActive = Date.now()
        const req = decodeStun(bytes)
        if (req === undefined) return
        const to = req.responsePort ?? port
        const answer = encodeStun({ cls: StunClass.SUCCESS, method: STUN_METHOD_BINDING, transactionId: req.transactionId, mapped: { host: PUBLIC, port } })
        queueMicrotask(() => {
          const target = mappings.get(to)
          if (target === undefined || target.closed || Date.now() - target.lastActive >= expiryMs) return // expired: the NAT drops it
          target.lastActive = Date.now()
          target.deliver?.(answer, server)
        })
      },
      onMessage: (cb) => { m.deliver = cb; return () => { m.deliver = undefined } },
      localPort: () => port,
      close: () => { m.closed = true },
    }
  }
  return { open, server }
}

describe('the UDP mapping lifetime probe', () => {
  it('brackets the idle lifetime of a NAT\'s mappings: kept after the longest wait below it, gone after the shortest above', async () => {
    vi.useFakeTimers()
    const nat = fakeNat(25_000)
    const result = probeMappingLifetime(nat.open, nat.server, [5_000, 10_000, 20_000, 40_000, 80_000])
    await vi.advanceTimersByTimeAsync(90_000)
    const r = await result
    expect(r.probes.map((p) => [p.waitMs, p.alive])).toEqual([[5_000, true], [10_000, true], [20_000, true], [40_000, false], [80_000, false]])
    expect(r).toMatchObject({ atLeastMs: 20_000, belowMs: 40_000 })
    expect(describeLifetime(r)).toContain('at least 20 s, under 40 s')
  })

  it('says "at least" when every probe got through, and bounds its waits', async () => {
    vi.useFakeTimers()
    const nat = fakeNat(3_600_000)
    const result = probeMappingLifetime(nat.open, nat.server, [1_000, 2_000])
    await vi.advanceTimersByTimeAsync(10_000)
    expect(describeLifetime(await result)).toMatch(/^at least 2 s/)
    expect(lifetimeWaits(16_000)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000])
    expect(lifetimeWaits(600_000)).toHaveLength(MAX_LIFETIME_PROBES)
    expect(() => lifetimeWaits(900_000)).toThrow(TunnelError)
    await expect(probeMappingLifetime(nat.open, nat.server, [])).rejects.toThrow(TunnelError)
  })

  it('is answered by the relay\'s STUN server at RESPONSE-PORT on the asker\'s own address', async () => {
    const server = new StunServer(silentLogger())
    servers.push(server)
    const { port } = await server.start('127.0.0.1', 0, 0)
    const bind = async (): Promise<Socket> => {
      const s = createSocket('udp4')
      sockets.push(s)
      await new Promise<void>((resolve) => { s.bind(0, '127.0.0.1', resolve) })
      return s
    }
    const x = await bind()
    const y = await bind()
    const transactionId = newTransactionId()
    const got = new Promise<StunAddress | undefined>((resolve) => { dgramEndpoint(x).onMessage((m) => { resolve(decodeStun(m)?.mapped) }) })
    y.send(encodeStun({ cls: StunClass.REQUEST, method: STUN_METHOD_BINDING, transactionId, responsePort: x.address().port }), port, '127.0.0.1')
    // The answer reaches X, and names Y's address (the asker's), as RFC 5780 says.
    expect(await got).toEqual({ host: '127.0.0.1', port: y.address().port })
  })
})
