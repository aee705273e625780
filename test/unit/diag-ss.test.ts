// The ss parsers against outputs recorded on this machine and in the lab (test/fixtures/diag),
// and against odd ones: old iproute2, a Netid column, interface suffixes, lines to skip.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { fc, test } from '@fast-check/vitest'
import { formatEndpoint, parseSsEndpoint } from '../../shared/diag/ss-address.js'
import { countStates, parseSs } from '../../shared/diag/ss-parse.js'
import { parseSsDuration, parseSsTimer } from '../../shared/diag/ss-timer.js'
import { parseRate, parseTcpInfo } from '../../shared/diag/tcp-info.js'

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/diag/${name}`, import.meta.url), 'utf8')

describe('ss address columns', () => {
  it('normalises IPv4, IPv6 and IPv4-mapped IPv6 and keeps the wire family', () => {
    expect(parseSsEndpoint('127.0.0.1:60968')).toMatchObject({ host: '127.0.0.1', port: 60968, family: 'ipv4', mapped: false, wildcard: false })
    expect(parseSsEndpoint('[::1]:39791')).toMatchObject({ host: '::1', port: 39791, family: 'ipv6', mapped: false })
    expect(parseSsEndpoint('[::ffff:10.200.2.10]:7000')).toMatchObject({ host: '10.200.2.10', port: 7000, family: 'ipv4', mapped: true })
    expect(parseSsEndpoint('[FD77:200:2:0::10]:7300')).toMatchObject({ host: 'fd77:200:2::10', family: 'ipv6' })
  })

  it('reads wildcards and the peer of a listener', () => {
    expect(parseSsEndpoint('*:7000')).toMatchObject({ host: '*', port: 7000, family: null, wildcard: true })
    expect(parseSsEndpoint('*:*')).toMatchObject({ host: '*', port: 0 })
    expect(parseSsEndpoint('0.0.0.0:37173')).toMatchObject({ host: '0.0.0.0', wildcard: true, family: 'ipv4' })
    expect(parseSsEndpoint('[::]:*')).toMatchObject({ host: '::', port: 0, wildcard: true, family: 'ipv6' })
  })

  it('splits off an interface or zone and reads old unbracketed IPv6', () => {
    expect(parseSsEndpoint('127.0.0.53%lo:53')).toMatchObject({ host: '127.0.0.53', port: 53, iface: 'lo' })
    expect(parseSsEndpoint('[fe80::1%eth0]:22')).toMatchObject({ host: 'fe80::1', iface: 'eth0', family: 'ipv6' })
    expect(parseSsEndpoint(':::7000')).toMatchObject({ host: '::', port: 7000, wildcard: true })
    expect(parseSsEndpoint('::ffff:127.0.0.1:7000')).toMatchObject({ host: '127.0.0.1', port: 7000, mapped: true })
  })

  it('refuses what is not an address', () => {
    for (const bad of ['', ':', '7000', 'host:22', '999.1.1.1:22', '10.0.0.1:70000', '10.0.0.1:', '[::1:22', '10.0.0.1:2x']) {
      expect(parseSsEndpoint(bad), bad).toBeUndefined()
    }
  })

  it('formats back with brackets around IPv6', () => {
    expect(formatEndpoint(parseSsEndpoint('[::ffff:10.0.0.1]:7000')!)).toBe('10.0.0.1:7000')
    expect(formatEndpoint(parseSsEndpoint('[::1]:7000')!)).toBe('[::1]:7000')
    expect(formatEndpoint(parseSsEndpoint('*:*')!)).toBe('*:*')
  })

  test.prop([fc.ipV4(), fc.integer({ min: 0, max: 65_535 })])('reads every IPv4 address and port, mapped or not', (v4, port) => {
    const text = port === 0 ? '*' : String(port)
    expect(parseSsEndpoint(`${v4}:${text}`)).toMatchObject({ host: v4, port })
    expect(parseSsEndpoint(`[::ffff:${v4}]:${text}`)).toMatchObject({ host: v4, port, mapped: true })
  })

  test.prop([fc.string({ maxLength: 40 })])('never throws on random text', (text) => {
    expect(() => parseSsEndpoint(text)).not.toThrow()
  })
})

describe('ss timers', () => {
  it('reads every duration spelling ss uses', () => {
    expect(parseSsDuration('29sec')).toBe(29_000)
    expect(parseSsDuration('1min29sec')).toBe(89_000)
    expect(parseSsDuration('119min')).toBe(7_140_000)
    expect(parseSsDuration('476ms')).toBe(476)
    expect(parseSsDuration('004ms')).toBe(4)
    expect(parseSsDuration('9.501sec')).toBe(9_501)
    expect(parseSsDuration('')).toBe(0)
  })

  it('reads iproute2 6.1\'s "4.568ms" as 4.568 s (its spelling of 1-9 s with milliseconds)', () => {
    expect(parseSsDuration('4.568ms')).toBe(4_568)
  })

  it('parses the inside of timer:(...)', () => {
    expect(parseSsTimer('keepalive,28sec,0')).toEqual({ name: 'keepalive', remainingMs: 28_000, count: 0 })
    expect(parseSsTimer('on,664ms,1')).toEqual({ name: 'on', remainingMs: 664, count: 1 })
    expect(parseSsTimer('keepalive,,0')).toEqual({ name: 'keepalive', remainingMs: 0, count: 0 })
    expect(parseSsTimer('keepalive')).toBeUndefined()
    expect(parseSsTimer('keepalive,soon,0')).toBeUndefined()
  })
})

describe('tcp_info detail lines', () => {
  it('reads the control connection at MTU 1400 as the relay saw it in the lab', () => {
    const [socket] = parseSs(fixture('lab-mtu1400-public-ss-tin.txt')).sockets
    expect(socket?.info).toMatchObject({
      mss: 1348, pmtu: 1400, rcvmss: 1348, advmss: 1448, rttMs: 0.402, rttVarMs: 0.339, cwnd: 262,
      retransCurrent: 0, retransTotal: 18, bytesRetrans: 21720, sendBps: 7028378109, deliveryBps: 728648648,
      pacingBps: 71911165632, congestion: 'bbr', minRttMs: 0.012, rtoMs: 204, dataSegsIn: 3002,
    })
  })

  it('keeps option words apart from the congestion control', () => {
    const info = parseTcpInfo('\t ts sack ecn bbr wscale:10,10 rto:204 app_limited busy:12ms rwnd_limited:316ms(100.0%)')
    expect(info.congestion).toBe('bbr')
    expect(info.flags).toEqual(['ts', 'sack', 'ecn', 'app_limited'])
  })

  it('reads rates with units (ss without -n) and leaves absent fields undefined', () => {
    const info = parseTcpInfo(' cubic wscale:7,7 rto:204 rtt:0.05/0.025 mss:1448 cwnd:10 send 2316.8Mbps retrans:3')
    expect(info.sendBps).toBeCloseTo(2.3168e9)
    expect(info.retransCurrent).toBe(3)
    expect(info.retransTotal).toBeUndefined()
    expect(info.pmtu).toBeUndefined()
    expect(parseRate('7.0Gbps')).toBe(7e9)
    expect(parseRate('fast')).toBeUndefined()
  })

  test.prop([fc.string({ maxLength: 200 })])('never throws on random text', (text) => {
    expect(() => parseTcpInfo(text)).not.toThrow()
  })
})

describe('ss rows', () => {
  it('parses output without a state column (state established) and attaches detail lines', () => {
    const { sockets, skipped } = parseSs(fixture('host-ss-tin-established.txt'))
    expect(skipped).toEqual([])
    expect(sockets.length).toBe(8)
    expect(sockets.every((s) => s.state === 'ESTAB' && s.info !== null)).toBe(true)
    const mapped = sockets.find((s) => s.local.mapped && s.sendQ > 0)
    expect(mapped?.info?.bytesRetrans).toBe(34304)
    expect(mapped?.local.host).toBe('127.0.0.1')
  })

  it('parses state, users and timers on the first line (ss -tinopH)', () => {
    const { sockets } = parseSs(fixture('host-ss-tinop-all.txt'))
    expect(sockets.length).toBe(10)
    expect(sockets.every((s) => s.users[0]?.pid === 15994 && s.info !== null)).toBe(true)
    const timers = sockets.map((s) => s.timer === null ? null : `${s.timer.name}:${s.timer.remainingMs}`)
    expect(timers).toEqual(['keepalive:29000', 'keepalive:89000', 'keepalive:4576', 'keepalive:7140000', 'persist:260', null, 'keepalive:7140000', null, null, null])
    expect(countStates(sockets)).toEqual({ 'CLOSE-WAIT': 1, ESTAB: 8, 'FIN-WAIT-2': 1 })
  })

  it('reads listeners: Recv-Q is the accept queue, Send-Q the effective backlog', () => {
    const listeners = parseSs(fixture('host-ss-ltnp.txt')).sockets
    expect(listeners.map((l) => [l.local.host, l.sendQ])).toEqual([['0.0.0.0', 511], ['127.0.0.1', 8], ['*', 77], ['::', 4096], ['::1', 511]])
    expect(listeners.map((l) => l.users[0]?.fd)).toEqual([20, 22, 19, 21, 23])
    const full = parseSs(fixture('lab-backlog8-ss-ltn.txt')).sockets[0]
    expect(full).toMatchObject({ state: 'LISTEN', recvQ: 9, sendQ: 8 })
  })

  it('skips the header of ss without -H', () => {
    const { sockets, skipped } = parseSs(fixture('host-ss-ltn-header.txt'))
    expect(sockets.length).toBe(5)
    expect(skipped).toEqual([])
  })

  it('counts states over a whole host and a flooded listener', () => {
    const counts = countStates(parseSs(fixture('host-ss-tan-all.txt')).sockets)
    expect(counts).toEqual({ 'CLOSE-WAIT': 1, ESTAB: 14, 'FIN-WAIT-2': 1, LISTEN: 15, 'TIME-WAIT': 200 })
    expect(countStates(parseSs(fixture('lab-backlog8-visitor-ss-tano.txt')).sockets)).toEqual({ ESTAB: 9, 'SYN-SENT': 21 })
    const tw = parseSs(fixture('host-ss-tno-timewait.txt'), { state: 'TIME-WAIT' }).sockets
    expect(tw.length).toBe(12)
    expect(tw.every((s) => s.state === 'TIME-WAIT' && s.timer?.name === 'timewait')).toBe(true)
  })

  it('reads old iproute2 output (unbracketed IPv6, unit rates, no pmtu)', () => {
    const { sockets, skipped } = parseSs(fixture('odd-ss-old-iproute2.txt'))
    expect(skipped).toEqual([])
    expect(sockets.map((s) => `${s.state} ${s.local.host}:${s.local.port}`)).toEqual(['LISTEN :::7000', 'ESTAB 127.0.0.1:7000', 'ESTAB 10.0.0.2:51234'])
    expect(sockets[2]?.info).toMatchObject({ mss: 1380, retransTotal: 2, sendBps: 5.7e6 })
  })

  it('skips lines it cannot read and keeps the rest (Netid column, odd names, bad fields)', () => {
    const { sockets, skipped } = parseSs(fixture('odd-ss-mixed.txt'))
    expect(sockets.map((s) => s.state)).toEqual(['ESTAB', 'LISTEN', 'LISTEN', 'SYN-SENT'])
    expect(sockets[0]?.users).toEqual([{ name: 'sshd: root', pid: 812, fd: 4 }, { name: 'sshd', pid: 799, fd: 4 }])
    expect(sockets[0]?.timer).toEqual({ name: 'keepalive', remainingMs: 0, count: 0 })
    expect(sockets[1]?.local).toMatchObject({ host: '127.0.0.53', iface: 'lo' })
    expect(sockets[2]?.info?.flags.length).toBeGreaterThan(0)
    expect(sockets[3]?.timer).toEqual({ name: 'on', remainingMs: 1204, count: 2 })
    expect(skipped.length).toBe(5)
  })

  it('returns nothing for empty output', () => {
    expect(parseSs('')).toEqual({ sockets: [], skipped: [] })
    expect(parseSs('\n\n')).toEqual({ sockets: [], skipped: [] })
  })

  test.prop([fc.array(fc.string({ maxLength: 120 }), { maxLength: 20 })])('never throws on random lines', (lines) => {
    expect(() => parseSs(lines.join('\n'))).not.toThrow()
  })
})
