// The relay's visitor budget from its fd limit, and the rate-limited shed warning.
import { Writable } from 'node:stream'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { ConnectionBudget, FD_SPARE } from '../../server/connection-budget.js'
import { Relay } from '../../server/relay.js'
import { parseServerConfig } from '../../shared/config/index.js'
import { ShedWarner } from '../../server/shed-warner.js'
import { readFdFacts } from '../../server/fd-limit.js'

describe('ConnectionBudget', () => {
  it('derives the visitor cap from the fd limit minus fds at start, a spare and the handshake room', () => {
    const b = new ConnectionBudget({ fdLimit: 256, fdsAtStart: 20, maxConnections: 0, handshakeRoom: 64 })
    expect(b.reserve).toBe(20 + FD_SPARE + 64)
    expect(b.derivedAtStart).toBe(256 - 20 - FD_SPARE - 64)
    expect(b.maxVisitors).toBe(140)
  })

  it('listeners and control connections leave fewer fds to visitors', () => {
    const b = new ConnectionBudget({ fdLimit: 256, fdsAtStart: 20, maxConnections: 0, handshakeRoom: 64 })
    b.holdSocket() // control listener
    b.holdSocket() // a proxy's listener
    expect(b.admitControl()).toBe(true) // a client's control connection
    expect(b.maxVisitors).toBe(137)
    b.releaseSocket()
    expect(b.maxVisitors).toBe(138)
  })

  it('admits up to the cap, sheds (counted) beyond it, and admits again after a release', () => {
    const b = new ConnectionBudget({ fdLimit: 200, fdsAtStart: 10, maxConnections: 0, handshakeRoom: 0 })
    const cap = 200 - 10 - FD_SPARE
    for (let i = 0; i < cap; i++) expect(b.admitVisitor()).toBe(true)
    expect(b.admitVisitor()).toBe(false)
    expect(b.admitVisitor()).toBe(false)
    expect(b.stats.shed).toEqual({ maxVisitors: 0, maxConnections: 2 })
    b.releaseVisitor()
    expect(b.admitVisitor()).toBe(true)
    expect(b.stats).toMatchObject({ fdLimit: 200, visitors: cap, maxConnections: cap })
  })

  it('a configured maxConnections lowers the cap, never raises it above the fd limit', () => {
    expect(new ConnectionBudget({ fdLimit: 10_000, fdsAtStart: 20, maxConnections: 50, handshakeRoom: 64 }).maxVisitors).toBe(50)
    expect(new ConnectionBudget({ fdLimit: 256, fdsAtStart: 20, maxConnections: 5_000, handshakeRoom: 64 }).maxVisitors).toBe(140)
    expect(new ConnectionBudget({ fdLimit: undefined, fdsAtStart: 20, maxConnections: 7, handshakeRoom: 64 }).maxVisitors).toBe(7)
  })

  it('without an fd limit or a configured cap nothing is shed', () => {
    const b = ConnectionBudget.unlimited()
    for (let i = 0; i < 10_000; i++) b.admitVisitor()
    expect(b.maxVisitors).toBe(Infinity)
    expect(b.stats.maxConnections).toBeNull()
    expect(b.stats.shed.maxConnections).toBe(0)
  })

  it('control connections may use the handshake room but not the last spare fds', () => {
    const b = new ConnectionBudget({ fdLimit: 100, fdsAtStart: 10, maxConnections: 0, handshakeRoom: 40 })
    // Visitors fill what they may: 100 - 10 - 32 - 40 = 18.
    for (let i = 0; i < 18; i++) expect(b.admitVisitor()).toBe(true)
    expect(b.admitVisitor()).toBe(false)
    // Control connections still come in: the 40 of the handshake room.
    let admitted = 0
    for (let i = 0; i < 100 && b.admitControl(); i++) admitted++
    expect(admitted).toBe(40)
    expect(b.stats.shedControl).toBe(1)
    expect(b.maxVisitors).toBe(0)
  })

  it('reads the fd limit and the open fds of this process from /proc (Linux)', () => {
    const facts = readFdFacts()
    if (process.platform !== 'linux') {
      expect(facts).toEqual({ limit: undefined, open: undefined })
      return
    }
    expect(facts.open).toBeGreaterThan(2)
    if (facts.limit !== undefined) expect(facts.limit).toBeGreaterThanOrEqual(facts.open ?? 0)
    expect(readFdFacts('/nonexistent-proc')).toEqual({ limit: undefined, open: undefined })
  })
})

/** A logger whose JSON lines land in `lines`. */
function capture (): { log: pino.Logger, lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({ write (chunk: Buffer, _enc, cb) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); cb() } })
  return { log: pino(sink), lines }
}

describe('the relay\'s budget at start', () => {
  it('logs the cap from the fd limit, warns when maxConnections asks for more, and counts its own sockets', async () => {
    const { log, lines } = capture()
    const config = parseServerConfig('bindAddr: 127.0.0.1\nbindPort: 0\nauth: { token: t }\nmaxConnections: 5000', 'frps.yml', {}).config
    const relay = new Relay(config, log, { fds: { limit: 256, open: 20 } })
    try {
      await relay.start()
      expect(lines.find((l) => l.msg === 'visitor connection limit')).toMatchObject({ fdLimit: 256, reserve: 20 + FD_SPARE + 64, maxConnections: 139 })
      const warn = lines.find((l) => String(l.msg).startsWith('maxConnections 5000 is more than the fd limit allows'))
      expect(warn?.level).toBe(40)
      expect(relay.budgetStats).toMatchObject({ fdLimit: 256, maxConnections: 139, visitors: 0, otherSockets: 1, sessions: 0, shed: { maxVisitors: 0, maxConnections: 0 } })
    } finally {
      relay.destroy()
    }
    expect(relay.budgetStats.otherSockets).toBe(0)
  })

  it('a high fd limit and a lower maxConnections: the configured cap, no warning', async () => {
    const { log, lines } = capture()
    const config = parseServerConfig('bindAddr: 127.0.0.1\nbindPort: 0\nauth: { token: t }\nmaxConnections: 100', 'frps.yml', {}).config
    const relay = new Relay(config, log, { fds: { limit: 1_048_576, open: 20 } })
    try {
      await relay.start()
      expect(lines.find((l) => l.msg === 'visitor connection limit')).toMatchObject({ maxConnections: 100 })
      expect(lines.filter((l) => l.level === 40 && String(l.msg).includes('fd limit'))).toEqual([])
    } finally {
      relay.destroy()
    }
  })
})

describe('ShedWarner', () => {
  it('warns at once, then at most once per interval, with the count since the last line', () => {
    const lines: Array<Record<string, unknown>> = []
    const sink = new Writable({ write (chunk: Buffer, _enc, cb) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); cb() } })
    let t = 0
    const w = new ShedWarner(pino(sink), 10_000, () => t)
    expect(w.note({ shed: 1 }, 'visitor shed')).toBe(true)
    for (let i = 2; i <= 5; i++) { t += 1_000; expect(w.note({ shed: i }, 'visitor shed')).toBe(false) }
    t = 10_001
    expect(w.note({ shed: 6 }, 'visitor shed')).toBe(true)
    expect(lines.map((l) => [l.msg, l.code, l.shed, l.sinceLastLine])).toEqual([
      ['visitor shed', 'TUN_VISITOR_SHED', 1, 1],
      ['visitor shed', 'TUN_VISITOR_SHED', 6, 5],
    ])
  })
})
