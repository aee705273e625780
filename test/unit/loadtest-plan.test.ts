import { describe, expect, it } from 'vitest'
import { planBench } from '../../loadtest/plan.js'
import { parseTarget } from '../../loadtest/target.js'
import * as L from '../../loadtest/limits.js'
import { TunnelError } from '../../shared/errors.js'

const usageError = (f: () => unknown): TunnelError => {
  try {
    f()
  } catch (err) {
    expect(err).toBeInstanceOf(TunnelError)
    expect((err as TunnelError).code).toBe('TUN_USAGE')
    return err as TunnelError
  }
  throw new Error('expected a usage error')
}

describe('bench plan', () => {
  it('applies bounded defaults: tcp rr, 10 s, a count cap, closed loop', () => {
    const p = planBench({ protocol: 'tcp', target: '127.0.0.1:6000' })
    expect(p).toMatchObject({ workload: 'rr', durationMs: L.DEFAULT_DURATION_S * 1000, maxOps: L.DEFAULT_MAX_OPS, concurrency: 10, rate: null, size: 64, replySize: 64 })
  })

  it('gives udp an open-loop default rate, one flow and a 512-byte datagram', () => {
    expect(planBench({ protocol: 'udp', target: '[::1]:53' })).toMatchObject({ workload: 'udp', rate: L.DEFAULT_UDP_RATE, concurrency: 1, size: 512, target: { host: '::1', port: 53 } })
  })

  it('refuses bounds above the hard caps and values of the wrong kind', () => {
    usageError(() => planBench({ protocol: 'tcp', target: 'h:1', duration: L.MAX_DURATION_S + 1 }))
    usageError(() => planBench({ protocol: 'tcp', target: 'h:1', requests: L.MAX_OPS + 1 }))
    usageError(() => planBench({ protocol: 'tcp', target: 'h:1', concurrency: 1.5 }))
    usageError(() => planBench({ protocol: 'tcp', target: 'h:1', rate: L.MAX_RATE * 2 }))
    usageError(() => planBench({ protocol: 'udp', target: 'h:1', size: 10 }))
    usageError(() => planBench({ protocol: 'tcp', target: 'h:1', mode: 'bulk', rate: 10 }))
    usageError(() => planBench({ protocol: 'http', target: 'h:1', path: 'no-slash' }))
    usageError(() => planBench({ protocol: 'tcp', target: 'h:1', maxErrorRate: 2 }))
    expect(usageError(() => planBench({ protocol: 'udp', target: 'h:1', mode: 'rr' })).message).toContain('--mode is for tcp')
  })

  it('parses HOST:PORT and [IPv6]:PORT and explains what is wrong with anything else', () => {
    expect(parseTarget('relay.example:6000')).toEqual({ host: 'relay.example', port: 6000 })
    expect(parseTarget('[2001:db8::1]:443')).toEqual({ host: '2001:db8::1', port: 443 })
    expect(usageError(() => parseTarget('::1:80')).message).toContain('brackets')
    expect(usageError(() => parseTarget('host')).message).toContain('no port')
    expect(usageError(() => parseTarget('host:70000')).message).toContain('1-65535')
    expect(usageError(() => parseTarget('[nothex]:1')).message).toContain('not an IPv6')
  })
})
