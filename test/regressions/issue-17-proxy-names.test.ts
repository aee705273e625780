// Issue 17: frp accepts any non-empty proxy name, and users' files have names like "Wake On Lan"
// and "L4D2节点0"; ours refused everything outside A-Z a-z 0-9 . _ -. Now any text of 1-64
// characters loads (YAML and TOML), registers on a real relay and carries traffic; where a name is
// shown as text (the status table, reload output, config messages, metrics) it is escaped, never
// refused: a control character in a name cannot break a line or move a terminal's cursor.
import { afterEach, describe, expect, it } from 'vitest'
import { formatReloadOutcome, renderStatus } from '../../shared/admin/index.js'
import { parseClientConfig } from '../../shared/config/index.js'
import { ConfigError } from '../../shared/errors.js'
import { TunnelMetrics } from '../../shared/metrics/index.js'
import { relayStatus } from '../../server/index.js'
import { clientConfig, closeInProcess, startClientInProcess, startRelayInProcess } from '../helpers/in-process.js'
import { closeServices, echoOnce, startEchoServer } from '../helpers/services.js'

afterEach(async () => {
  await closeInProcess()
  await closeServices()
})

const NAMES = ['Wake On Lan', 'L4D2节点0', 'bad\u001b[2Jname\nnext line']

describe('issue 17: proxy names are any non-empty text, as in frp', () => {
  it('loads the names users write, in YAML and TOML, and bounds their length', () => {
    const yaml = parseClientConfig('proxies:\n  - { name: "Wake On Lan", type: udp, localPort: 9 }\n  - { name: L4D2节点0, type: tcp, localPort: 27015 }\n', 'frpc.yml', {})
    expect(yaml.config.proxies.map((p) => p.name)).toEqual(['Wake On Lan', 'L4D2节点0'])
    const toml = parseClientConfig('[[proxies]]\nname = "Wake On Lan"\ntype = "udp"\nlocalPort = 9\n', 'frpc.toml', {})
    expect(toml.config.proxies[0]?.name).toBe('Wake On Lan')
    expect(parseClientConfig(`proxies: [{ name: "${'x'.repeat(64)}", type: tcp, localPort: 1 }]`, 'frpc.yml', {}).config.proxies).toHaveLength(1)
    let err: unknown
    try { parseClientConfig(`proxies: [{ name: "${'x'.repeat(65)}", type: tcp, localPort: 1 }]`, 'frpc.yml', {}) } catch (e) { err = e }
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).message).toMatch(/^frpc\.yml:1:19 proxies\[0\]\.name: is longer than 64 characters/)
  })

  it('names a duplicate unusual name quoted, on one line', () => {
    let err: unknown
    try { parseClientConfig('proxies:\n  - { name: "a\\nb", type: tcp, localPort: 1 }\n  - { name: "a\\nb", type: tcp, localPort: 2 }\n', 'frpc.yml', {}) } catch (e) { err = e }
    expect((err as ConfigError).message).toBe('frpc.yml:3:13 proxies[1].name: proxy name "a\\nb" is already used by proxies[0] (line 2); names must be unique (TUN_CONFIG_INVALID)')
  })

  it('registers such names on a relay, carries traffic, and shows them escaped in the status table and metrics', async () => {
    const echo = await startEchoServer()
    const { relay, port } = await startRelayInProcess()
    const yaml = 'proxies:\n' + NAMES.map((n) => `  - { name: ${JSON.stringify(n)}, type: tcp, localPort: ${echo.port}, remotePort: 0 }\n`).join('')
    const running = await startClientInProcess(clientConfig(port, yaml))
    const ports = await Promise.all(NAMES.map(async (n) => await running.result(n)))
    for (const r of ports) {
      expect(r.ok).toBe(true)
      expect(await echoOnce(r.remotePort ?? 0)).toBe(true)
    }

    const report = await relayStatus(relay)
    expect(report.proxies.map((p) => p.name).sort()).toEqual([...NAMES].sort())
    const text = renderStatus(report)
    expect(text).toContain('bad\\u001b[2Jname\\nnext line')
    expect(text).not.toContain('\u001b')
    // Every proxy row starts its next column at the same terminal column, CJK names included.
    const rows = text.split('\n').filter((l) => NAMES.some((n) => l.includes(n.slice(0, 3))))
    expect(rows).toHaveLength(3)
    const typeColumn = (row: string): number => {
      const at = row.indexOf('  tcp ')
      let width = 0
      for (const ch of row.slice(0, at)) width += /[\u4e00-\u9fff]/.test(ch) ? 2 : 1
      return width
    }
    expect(new Set(rows.map(typeColumn)).size).toBe(1)

    const metrics = await new TunnelMetrics({ processMetrics: false }).render(async () => await Promise.resolve(report))
    expect(metrics).toContain('proxy="Wake On Lan"')
    expect(metrics).toContain('proxy="L4D2节点0"')
    expect(metrics).toContain('proxy="bad\u001b[2Jname\\nnext line"') // Prometheus escapes the line break; the text format allows the rest
    expect(metrics.split('\n').every((l) => !l.startsWith('next line'))).toBe(true)
  })

  it('prints such names quoted in a reload outcome', () => {
    const out = formatReloadOutcome({ status: 'partial', added: ['Wake On Lan', 'ssh'], removed: [], changed: [], errors: [{ proxy: 'L4D2节点0\n', code: 'TUN_PORT_IN_USE', message: 'port\n6000 is in use' }] })
    expect(out).toContain('added    "Wake On Lan", ssh')
    expect(out).toContain('proxy "L4D2节点0\\n": port\\n6000 is in use (TUN_PORT_IN_USE)')
  })
})
