// Admission of unauthenticated handshakes and the rate limit of refusal log lines.
import { describe, expect, it } from 'vitest'
import { HandshakeGate, PROVEN_GRACE_MS, sourceGroup, type Admission, type GateTicket } from '../../server/handshake-gate.js'
import { LogLimiter } from '../../server/log-limiter.js'
import { ReplayGuard } from '../../shared/transport/replay.js'

describe('handshake gate', () => {
  it('groups IPv4 (and IPv4-mapped IPv6) by /24 and IPv6 by /64: one network, not one address', () => {
    expect(sourceGroup('::ffff:10.0.0.1')).toBe('10.0.0.0/24')
    expect(sourceGroup('10.0.0.1')).toBe(sourceGroup('10.0.0.254'))
    expect(sourceGroup('10.0.0.1')).not.toBe(sourceGroup('10.0.1.1'))
    expect(sourceGroup('2001:db8:1:2:aaaa::1')).toBe(sourceGroup('2001:db8:1:2:bbbb::9'))
    expect(sourceGroup('2001:db8:1:2::1')).not.toBe(sourceGroup('2001:db8:1:3::1'))
  })

  it('refuses a source beyond its cap and admits it again after a release', () => {
    const gate = new HandshakeGate({ maxPending: 64, maxPerSource: 2 })
    const a = ticket(gate.admit('10.0.0.1', () => {}))
    ticket(gate.admit('10.0.0.2', () => {})) // the same /24
    expect(gate.admit('10.0.0.3', () => {})).toBe('per-source')
    ticket(gate.admit('10.0.1.2', () => {}))
    a.release()
    a.release() // idempotent
    ticket(gate.admit('10.0.0.1', () => {}))
    expect(gate.refused).toBe(1)
  })

  it('when full, drops the oldest handshake of the heaviest source, so a lone newcomer always gets in', () => {
    const gate = new HandshakeGate({ maxPending: 6, maxPerSource: 3 })
    const evicted: string[] = []
    for (const [i, src] of ['10.0.9.1', '10.0.9.2', '10.0.9.3', '10.0.8.1', '10.0.8.2', '10.0.7.1'].entries()) {
      gate.admit(src, () => { evicted.push(`${src}#${i}`) })
    }
    expect(gate.pending).toBe(6)
    ticket(gate.admit('192.0.2.1', () => { evicted.push('real') }))
    expect(evicted).toEqual(['10.0.9.1#0'])
    expect(gate.pending).toBe(6)
    // The attacker keeps coming from a few networks: never the real one while heavier sources exist.
    for (let i = 0; i < 40; i++) gate.admit(`10.1.${i % 4}.1`, () => {})
    expect(evicted).not.toContain('real')
    expect(gate.pending).toBe(6)
  })

  it('limits new handshakes per source to a token bucket (20/s, burst 20)', () => {
    let now = 0
    const gate = new HandshakeGate({ maxPerSource: 1000, maxPending: 1000, now: () => now })
    for (let i = 0; i < 20; i++) ticket(gate.admit('10.0.0.1', () => {})).release()
    expect(gate.admit('10.0.0.1', () => {})).toBe('rate')
    expect(gate.admit('10.0.0.77', () => {})).toBe('rate') // the same /24 shares the bucket
    ticket(gate.admit('10.0.1.2', () => {})) // another network has its own bucket
    now += 100 // two tokens back
    ticket(gate.admit('10.0.0.1', () => {}))
    ticket(gate.admit('10.0.0.1', () => {}))
    expect(gate.admit('10.0.0.1', () => {})).toBe('rate')
  })
})

describe('handshake gate: proven handshakes (issue 22, finding 1)', () => {
  it('never drops a handshake that proved the token (within its grace), however many sources come; newcomers are refused while every slot is freshly proven', () => {
    let now = 0
    const gate = new HandshakeGate({ maxPending: 4, maxPerSource: 2, now: () => now })
    const dropped: string[] = []
    const real = ticket(gate.admit('198.51.100.7', () => { dropped.push('real') }))
    real.prove() // its hello decrypted; it waits for the client's first record (a slow path)
    // 70 networks, one handshake each, all at once (their hellos never come, or come slowly).
    for (let i = 0; i < 70; i++) gate.admit(`10.${i}.0.1`, () => { dropped.push(`attacker ${i}`) })
    expect(dropped).not.toContain('real')
    expect(gate.pending).toBe(4)
    // Proven attackers fill the table: a newcomer is refused, nobody proven is dropped.
    const proven = []
    for (let i = 0; i < 3; i++) {
      const t = gate.admit(`10.200.${i}.1`, () => { dropped.push(`proven ${i}`) })
      if (typeof t !== 'string') { t.prove(); proven.push(t) }
    }
    expect(gate.admit('10.250.0.1', () => {})).toBe('full')
    expect(dropped.filter((d) => d.startsWith('proven') || d === 'real')).toEqual([])
    expect(gate.full).toBeGreaterThan(0)
    real.release()
    expect(typeof gate.admit('10.251.0.1', () => {})).not.toBe('string')
    // A token holder that sits on proven slots past the grace loses them to newcomers.
    now += PROVEN_GRACE_MS + 1
    expect(typeof gate.admit('10.252.0.1', () => {})).not.toBe('string')
    expect(dropped.filter((d) => d.startsWith('proven'))).toHaveLength(1)
  })
})

function ticket (a: Admission): GateTicket {
  if (typeof a === 'string') throw new Error(`not admitted: ${a}`)
  return a
}

describe('log limiter', () => {
  it('lets one line per key per interval through and counts the rest', () => {
    let now = 0
    const limiter = new LogLimiter(10_000, 2, () => now)
    expect(limiter.allow('a')).toBe(0)
    expect(limiter.allow('a')).toBeUndefined()
    expect(limiter.allow('a')).toBeUndefined()
    expect(limiter.allow('b')).toBe(0)
    expect(limiter.allow('c')).toBe(0) // table full: the overflow key
    expect(limiter.allow('d')).toBeUndefined()
    now = 10_000
    expect(limiter.allow('a')).toBe(2)
  })
})

describe('replay guard', () => {
  it('forgets ephemeral keys after twice the skew and keeps its size bound', () => {
    const guard = new ReplayGuard({ maxSkewMs: 1000, maxEphemerals: 3 })
    const key = (i: number): Uint8Array => new Uint8Array(32).fill(i)
    guard.remember(key(1), 0)
    expect(guard.seen(key(1), 1999)).toBe(true)
    expect(guard.seen(key(1), 2000)).toBe(false)
    for (let i = 0; i < 10; i++) guard.remember(key(i), 3000)
    expect(guard.size).toBe(3)
    expect(guard.seen(key(9), 3000)).toBe(true)
    expect(guard.evicted).toBe(7)
  })
})
