// The /proc parsers against files recorded on this machine and in the lab, and odd ones.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { fc, test } from '@fast-check/vitest'
import { parseLimits, parseNetstat, parseSockstat, parseSysctlValue } from '../../shared/diag/proc-parse.js'

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/diag/${name}`, import.meta.url), 'utf8')

describe('/proc/net/netstat', () => {
  it('pairs the names and values lines of every section', () => {
    const { sections, problems } = parseNetstat(fixture('host-netstat.txt'))
    expect(problems).toEqual([])
    expect(Object.keys(sections)).toEqual(['TcpExt', 'IpExt', 'MPTcpExt'])
    expect(sections.TcpExt?.ListenOverflows).toBe(5792)
    expect(sections.TcpExt?.ListenDrops).toBe(5792)
    expect(sections.TcpExt?.SyncookiesSent).toBe(24)
    expect(sections.IpExt?.InOctets).toBe(1457330697935)
  })

  it('shows the overflow counters a full accept queue made grow in the lab', () => {
    const before = parseNetstat(fixture('lab-backlog8-netstat-before.txt')).sections.TcpExt
    const after = parseNetstat(fixture('lab-backlog8-netstat-after.txt')).sections.TcpExt
    expect([before?.ListenOverflows, before?.ListenDrops]).toEqual([0, 0])
    expect([after?.ListenOverflows, after?.ListenDrops]).toEqual([42, 42])
  })

  it('keeps what it can of a truncated file and says what was wrong', () => {
    const { sections, problems } = parseNetstat(fixture('odd-netstat-truncated.txt'))
    expect(sections.TcpExt).toEqual({ SyncookiesSent: 1, SyncookiesRecv: 2, ListenOverflows: 3 })
    expect(problems).toEqual(['TcpExt: 4 names but 3 values', 'IpExt: names line without values'])
    expect(parseNetstat('')).toEqual({ sections: {}, problems: [] })
  })

  test.prop([fc.string({ maxLength: 300 })])('never throws on random text', (text) => {
    expect(() => parseNetstat(text)).not.toThrow()
  })
})

describe('/proc/net/sockstat', () => {
  it('reads in-use, orphan and TIME-WAIT counts per protocol', () => {
    expect(parseSockstat(fixture('host-sockstat.txt')).TCP).toEqual({ inuse: 22, orphan: 0, tw: 2588, alloc: 31, mem: 1940 })
    expect(parseSockstat(fixture('host-sockstat.txt')).sockets).toEqual({ used: 79 })
    expect(parseSockstat(fixture('lab-backlog8-sockstat.txt')).TCP?.alloc).toBe(47)
    expect(parseSockstat(fixture('host-sockstat6.txt')).TCP6?.inuse).toBeTypeOf('number')
    expect(parseSockstat('TCP: inuse x orphan 1 tw')).toEqual({ TCP: { orphan: 1 } })
  })
})

describe('/proc/PID/limits', () => {
  it('reads soft and hard limits, unlimited as null', () => {
    const limits = parseLimits(fixture('host-limits.txt'))
    expect(limits['Max open files']).toEqual({ soft: 20000, hard: 20000, units: 'files' })
    expect(limits['Max cpu time']).toEqual({ soft: null, hard: null, units: 'seconds' })
    expect(limits['Max nice priority']).toEqual({ soft: 0, hard: 0, units: '' })
    expect(Object.keys(limits).length).toBe(16)
    expect(parseLimits(fixture('limits-nofile-256.txt'))['Max open files']).toEqual({ soft: 256, hard: 1024, units: 'files' })
    expect(parseLimits('')).toEqual({})
  })
})

describe('sysctl files', () => {
  it('reads one integer and nothing else', () => {
    expect(parseSysctlValue('4096\n')).toBe(4096)
    expect(parseSysctlValue(' 0 ')).toBe(0)
    expect(parseSysctlValue('4096\t87380\t6291456\n')).toBeUndefined()
    expect(parseSysctlValue('')).toBeUndefined()
  })
})
