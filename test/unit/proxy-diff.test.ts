// The reload's pure parts: which proxies a new list adds, removes, changes or keeps (and whether
// a change needs the relay), and which start-only settings differ.
import { fc, test } from '@fast-check/vitest'
import { describe, expect, it } from 'vitest'
import { diffProxies, relayChanged } from '../../client/proxy/proxy-diff.js'
import { fixedSettingChanges } from '../../client/proxy/settings-diff.js'
import { parseClientConfig } from '../../shared/config/index.js'
import type { ClientConfig, ProxyConfig, TcpProxyConfig, UdpProxyConfig } from '../../shared/config/types.js'

function tcp (name: string, over: Partial<TcpProxyConfig> = {}): TcpProxyConfig {
  return { name, type: 'tcp', localIP: '127.0.0.1', localPort: 8000, remotePort: 0, allowSources: [], denySources: [], proxyProtocolVersion: null, bandwidthLimit: 0, bandwidthLimitMode: 'client', maxVisitors: 0, ...over }
}

function udp (name: string, over: Partial<UdpProxyConfig> = {}): UdpProxyConfig {
  return { name, type: 'udp', localIP: '127.0.0.1', localPort: 53, remotePort: 0, allowSources: [], denySources: [], idleTimeout: 120, maxFlows: 4096, bandwidthLimit: 0, bandwidthLimitMode: 'client', proxyProtocolVersion: null, ...over }
}

const names = (ps: readonly ProxyConfig[]): string[] => ps.map((p) => p.name)

describe('diffProxies', () => {
  it('sorts proxies into added, removed, changed and unchanged by name', () => {
    const before = [tcp('a'), tcp('c'), tcp('d', { localPort: 1 })]
    const after = [tcp('b'), tcp('a'), tcp('d', { localPort: 2 })]
    const diff = diffProxies(before, after)
    expect(names(diff.added)).toEqual(['b'])
    expect(names(diff.removed)).toEqual(['c'])
    expect(diff.changed.map((c) => [c.before.localPort, c.after.localPort])).toEqual([[1, 2]])
    expect(names(diff.unchanged)).toEqual(['a'])
  })

  it('keeps the new list order for added, changed and unchanged, and the old order for removed', () => {
    const diff = diffProxies([tcp('r2'), tcp('r1'), tcp('x'), tcp('y')], [tcp('y'), tcp('n2'), tcp('x'), tcp('n1')])
    expect(names(diff.added)).toEqual(['n2', 'n1'])
    expect(names(diff.removed)).toEqual(['r2', 'r1'])
    expect(names(diff.unchanged)).toEqual(['y', 'x'])
  })

  it('counts any differing field as a change, including list contents and order', () => {
    const cases: Array<[ProxyConfig, ProxyConfig]> = [
      [tcp('p'), tcp('p', { localIP: '127.0.0.2' })],
      [tcp('p'), tcp('p', { remotePort: 6000 })],
      [tcp('p'), tcp('p', { proxyProtocolVersion: 'v2' })],
      [tcp('p', { allowSources: ['10.0.0.0/8'] }), tcp('p', { allowSources: ['10.0.0.0/8', '::1'] })],
      [tcp('p', { denySources: ['1.1.1.1', '2.2.2.2'] }), tcp('p', { denySources: ['2.2.2.2', '1.1.1.1'] })],
      [udp('p'), udp('p', { maxFlows: 10 })],
      [tcp('p'), udp('p')],
    ]
    for (const [a, b] of cases) expect(diffProxies([a], [b]).changed).toHaveLength(1)
  })

  it('treats equal values in fresh objects as unchanged', () => {
    const diff = diffProxies([tcp('p', { allowSources: ['10.0.0.0/8'] })], [tcp('p', { allowSources: ['10.0.0.0/8'] })])
    expect(names(diff.unchanged)).toEqual(['p'])
    expect(diff.changed).toEqual([])
  })

  it('handles empty lists on either side', () => {
    expect(diffProxies([], [])).toEqual({ added: [], removed: [], changed: [], unchanged: [] })
    expect(names(diffProxies([], [tcp('a')]).added)).toEqual(['a'])
    expect(names(diffProxies([tcp('a')], []).removed)).toEqual(['a'])
  })

  it('needs the relay only when what it holds changes, not for the local side', () => {
    expect(relayChanged(tcp('p'), tcp('p', { localPort: 9 }))).toBe(false)
    expect(relayChanged(tcp('p'), tcp('p', { localIP: '::1' }))).toBe(false)
    expect(relayChanged(tcp('p'), tcp('p', { proxyProtocolVersion: 'v1' }))).toBe(false)
    expect(relayChanged(tcp('p'), tcp('p', { remotePort: 7 }))).toBe(true)
    expect(relayChanged(tcp('p'), tcp('p', { allowSources: ['10.0.0.0/8'] }))).toBe(true)
    expect(relayChanged(udp('p'), udp('p', { idleTimeout: 5 }))).toBe(true)
    expect(relayChanged(tcp('p'), udp('p'))).toBe(true)
    const diff = diffProxies([tcp('l'), tcp('r')], [tcp('l', { localPort: 1 }), tcp('r', { remotePort: 2 })])
    expect(diff.changed.map((c) => [c.after.name, c.relay])).toEqual([['l', false], ['r', true]])
  })

  const proxy = fc.record({
    name: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
    localPort: fc.integer({ min: 1, max: 3 }),
    remotePort: fc.integer({ min: 0, max: 2 }),
  }).map(({ name, localPort, remotePort }) => tcp(name, { localPort, remotePort }))
  const list = fc.uniqueArray(proxy, { selector: (p) => p.name, maxLength: 6 })

  test.prop([list, list])('puts every name in exactly one bucket, and applying the diff gives the new list', (before, after) => {
    const diff = diffProxies(before, after)
    const fromAfter = [...names(diff.added), ...diff.changed.map((c) => c.after.name), ...names(diff.unchanged)]
    expect(fromAfter.sort()).toEqual(names(after).sort())
    const fromBefore = [...names(diff.removed), ...diff.changed.map((c) => c.before.name), ...names(diff.unchanged)]
    expect(fromBefore.sort()).toEqual(names(before).sort())
    // old - removed - changed.before + changed.after + added == new (as a set of values)
    const applied = new Map<string, ProxyConfig>(before.map((p) => [p.name, p]))
    for (const p of diff.removed) applied.delete(p.name)
    for (const c of diff.changed) applied.set(c.after.name, c.after)
    for (const p of diff.added) applied.set(p.name, p)
    expect(new Map(after.map((p) => [p.name, p]))).toEqual(applied)
  })
})

describe('fixedSettingChanges', () => {
  const base = 'serverAddr: 127.0.0.1\nserverPort: 7000\nauth:\n  token: one\n'
  const load = (yaml: string, file = 'frpc.yml'): ClientConfig => parseClientConfig(yaml, file, {}).config

  it('finds nothing when only the proxies differ', () => {
    expect(fixedSettingChanges(load(base + 'proxies: [{ name: a, type: tcp, localPort: 1 }]\n'), load(base))).toEqual([])
  })

  it('ignores the file name the config came from when the clientID is set', () => {
    const yaml = base + 'clientID: home\n'
    expect(fixedSettingChanges(load(yaml, 'a.yml'), load(yaml, 'b.yml'))).toEqual([])
  })

  it('names each connection or process setting that differs, secrets by name only', () => {
    const changed = load('serverAddr: relay.example\nserverPort: 7001\nuser: bob\nclientID: x\nloginFailExit: true\nauth:\n  token: two\n  serverKey: "8z141ibRzp75+A83b+5uMBg7MnpT5LB3EkCYvAjljyQ="\ntransport:\n  heartbeatInterval: 3\n  insecurePlaintext: true\nlog:\n  level: debug\n')
    const found = fixedSettingChanges(load(base + 'clientID: y\n'), changed)
    expect(found.sort()).toEqual([
      'auth.serverKey', 'auth.token', 'clientID', 'log.level', 'loginFailExit', 'serverAddr', 'serverPort',
      'transport.heartbeatInterval', 'transport.insecurePlaintext', 'user',
    ])
    expect(found.join(' ')).not.toContain('two')
  })

  it('compares pinned keys by value', () => {
    const key = 'auth:\n  token: one\n  serverKey: "8z141ibRzp75+A83b+5uMBg7MnpT5LB3EkCYvAjljyQ="\n'
    expect(fixedSettingChanges(load(key), load(key))).toEqual([])
  })
})
