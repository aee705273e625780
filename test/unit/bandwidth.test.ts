// frp's bandwidth quantities ("1MB", "500KB") and the config keys that use them.
import { describe, expect, it } from 'vitest'
import { parseClientConfig } from '../../shared/config/index.js'
import { ConfigError } from '../../shared/errors.js'
import { formatBandwidth, parseBandwidth } from '../../shared/limit/bandwidth.js'
import { tcpSpecSchema, udpSpecSchema } from '../../shared/wire/proxy-spec.js'

const bytes = (s: string): number | string => {
  const r = parseBandwidth(s)
  return 'bytes' in r ? r.bytes : r.problem
}

function issues (text: string): ConfigError {
  try {
    parseClientConfig(text, 'frpc.yml', {})
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('expected a ConfigError')
}

describe('parseBandwidth (frp BandwidthQuantity)', () => {
  it('reads KB and MB as KiB and MiB per second, decimals and spaces around as frp does', () => {
    expect(bytes('1MB')).toBe(1_048_576)
    expect(bytes('500KB')).toBe(512_000)
    expect(bytes(' 0.5MB ')).toBe(524_288)
    expect(bytes('.5KB')).toBe(512)
    expect(bytes('1.5KB')).toBe(1_536)
    expect(bytes('+2KB')).toBe(2_048)
  })

  it('0 and the empty string mean no limit, as in frp', () => {
    expect(bytes('0MB')).toBe(0)
    expect(bytes('0KB')).toBe(0)
    expect(bytes('')).toBe(0)
    expect(bytes('-0KB')).toBe(0)
  })

  it('refuses other units, negative numbers, words, a space before the unit, and absurd sizes', () => {
    expect(bytes('1XB')).toContain('unit must be KB or MB')
    expect(bytes('1mb')).toContain('unit must be KB or MB')
    expect(bytes('1KiB')).toContain('unit must be KB or MB')
    expect(bytes('1024')).toContain('unit must be KB or MB')
    expect(bytes('-1MB')).toContain('must not be negative')
    expect(bytes('fast')).toContain('must be a number followed by KB or MB')
    expect(bytes('1e3KB')).toContain('must be a number followed by KB or MB')
    expect(bytes('1 MB')).toContain('no space')
    expect(bytes('99999999MB')).toContain('is more than')
    expect(bytes('0.0001KB')).toContain('less than one byte')
  })

  it('formats for logs', () => {
    expect(formatBandwidth(524_288)).toBe('512KB')
    expect(formatBandwidth(1_572_864)).toBe('1.5MB')
    expect(formatBandwidth(100)).toBe('100B')
  })
})

describe('transport.bandwidthLimit / bandwidthLimitMode and maxVisitors in frpc.yml', () => {
  it('are read with frp\'s default mode client', () => {
    const { config } = parseClientConfig([
      'proxies:',
      '  - { name: a, type: tcp, localPort: 1, maxVisitors: 10, transport: { bandwidthLimit: 512KB } }',
      '  - { name: b, type: udp, localPort: 2, transport: { bandwidthLimit: "1MB", bandwidthLimitMode: server } }',
    ].join('\n'), 'frpc.yml', {})
    expect(config.proxies[0]).toMatchObject({ bandwidthLimit: 524_288, bandwidthLimitMode: 'client', maxVisitors: 10 })
    expect(config.proxies[1]).toMatchObject({ bandwidthLimit: 1_048_576, bandwidthLimitMode: 'server' })
  })

  it('a bad bandwidth is an error at its value (file:line:col) saying what is wrong', () => {
    const err = issues([
      'proxies:',
      '  - name: a',
      '    type: tcp',
      '    localPort: 1',
      '    transport:',
      '      bandwidthLimit: 1XB',
      '  - name: b',
      '    type: tcp',
      '    localPort: 2',
      '    transport:',
      '      bandwidthLimit: -1MB',
      '  - name: c',
      '    type: tcp',
      '    localPort: 3',
      '    transport: { bandwidthLimit: fast, bandwidthLimitMode: both }',
    ].join('\n'))
    const lines = err.message.split('\n')
    expect(lines[0]).toBe('frpc.yml:6:23 proxies[0].transport.bandwidthLimit: the unit must be KB or MB (frp\'s units, per second), like 500KB or 1MB, got "1XB" (TUN_CONFIG_INVALID)')
    expect(lines[1]).toBe('frpc.yml:11:23 proxies[1].transport.bandwidthLimit: must not be negative (leave it out, or 0, for no limit), got "-1MB" (TUN_CONFIG_INVALID)')
    expect(lines[2]).toMatch(/^frpc\.yml:15:34 proxies\[2\]\.transport\.bandwidthLimit: must be a number followed by KB or MB, like 500KB or 1MB, got "fast" \(TUN_CONFIG_INVALID\)$/)
    expect(lines[3]).toMatch(/^frpc\.yml:15:\d+ proxies\[2\]\.transport\.bandwidthLimitMode: must be one of client, server, got "both"/)
    expect(lines).toHaveLength(4)
  })

  it('a number without quotes or unit is refused as frp does (it must be a string with a unit)', () => {
    expect(issues('proxies:\n  - { name: a, type: tcp, localPort: 1, transport: { bandwidthLimit: 1024 } }').message).toContain('must be a string')
  })

  it('maxVisitors is a tcp key: refused on udp proxies (they have maxFlows), range-checked', () => {
    const err = issues('proxies:\n  - { name: a, type: udp, localPort: 1, maxVisitors: 5 }\n  - { name: b, type: tcp, localPort: 2, maxVisitors: -1 }')
    expect(err.issues.map((i) => `${i.location.line}:${i.location.col} ${i.location.path} ${i.code}`)).toEqual([
      '2:41 proxies[0].maxVisitors TUN_CONFIG_INVALID',
      '3:54 proxies[1].maxVisitors TUN_CONFIG_RANGE',
    ])
    expect(err.message).toContain('maxVisitors applies only to type tcp proxies (udp proxies cap visitors with maxFlows)')
  })
})

describe('proxy spec limits', () => {
  it('carries bandwidthLimit (both types) and maxVisitors (tcp); refuses bad values', () => {
    expect(tcpSpecSchema.parse({ name: 'a', type: 'tcp', remotePort: 0, bandwidthLimit: 524_288, maxVisitors: 3 })).toEqual({ name: 'a', type: 'tcp', remotePort: 0, bandwidthLimit: 524_288, maxVisitors: 3 })
    // A udp spec has no maxVisitors (maxFlows caps it): the field is dropped, not carried.
    expect(udpSpecSchema.parse({ name: 'b', type: 'udp', remotePort: 0, idleTimeout: 60, maxFlows: 10, bandwidthLimit: 1_024, maxVisitors: 3 })).toEqual({ name: 'b', type: 'udp', remotePort: 0, idleTimeout: 60, maxFlows: 10, bandwidthLimit: 1_024 })
    expect(tcpSpecSchema.parse({ name: 'c', type: 'tcp', remotePort: 0 })).toEqual({ name: 'c', type: 'tcp', remotePort: 0 })
    for (const bad of [{ bandwidthLimit: 0 }, { bandwidthLimit: 1.5 }, { bandwidthLimit: '1MB' }, { maxVisitors: 0 }, { maxVisitors: 2 ** 30 }]) {
      expect(tcpSpecSchema.safeParse({ name: 'a', type: 'tcp', remotePort: 0, ...bad }).success, JSON.stringify(bad)).toBe(false)
    }
  })
})
