// Issue 17: some problems in frp users' files had no line:col: `visitors`, `httpPlugins` and
// top-level array tables such as `[[rdp]]` in TOML, and sub-tables like `[proxies.plugin]`
// pointed at nothing or at the wrong line; a plugin proxy also got a misleading "localPort is
// missing". Now every such key has its place, in TOML and YAML alike, the locator finds any path
// under an array table (visitors[1].bindPort, proxies[3].plugin.type, ...), `[[rdp]]` gets a hint
// that proxies are [[proxies]] tables, and a plugin proxy is told only about the plugin.
import { describe, expect, it } from 'vitest'
import { parseDocument } from 'yaml'
import { parseClientConfig, parseServerConfig } from '../../shared/config/index.js'
import { locate, SourceMap } from '../../shared/config/locate.js'
import { tomlPathOffsets } from '../../shared/config/toml-paths.js'
import { ConfigError } from '../../shared/errors.js'

function issues (load: () => unknown): string[] {
  try {
    load()
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.location.line}:${i.location.col} ${i.location.path}: ${i.message}`)
    throw err
  }
  throw new Error('loaded, but should not')
}

const VISITORS_TOML = `serverAddr = "x"

[[visitors]]
name = "secret_tcp_visitor"
type = "stcp"
bindPort = 9000

[[visitors]]
name = "p2p_tcp_visitor"
type = "xtcp"
bindPort = 70000
[visitors.natTraversal]
disableAssistedAddrs = false
`

const VISITORS_YAML = `serverAddr: x
visitors:
  - name: secret_tcp_visitor
    type: stcp
    bindPort: 9000
  - name: p2p_tcp_visitor
    type: xtcp
    bindPort: 70000
    natTraversal:
      disableAssistedAddrs: false
`

describe('issue 17: line:col for visitors, httpPlugins, [[rdp]] and sub-tables of array tables', () => {
  it('reports each visitor\'s problems at its own line in TOML and YAML', () => {
    const toml = issues(() => parseClientConfig(VISITORS_TOML, 'frpc.toml', {}))
    expect(toml[0]).toMatch(/^3:1 visitors\[0\]\.serverName: is missing/)
    expect(toml.find((l) => l.includes('visitors[1].bindPort'))).toMatch(/^11:12 visitors\[1\]\.bindPort: 70000 is outside/)
    const yaml = issues(() => parseClientConfig(VISITORS_YAML, 'frpc.yml', {}))
    expect(yaml[0]).toMatch(/^3:5 visitors\[0\]\.serverName: is missing/)
    expect(yaml.find((l) => l.includes('visitors[1].bindPort'))).toMatch(/^8:15 visitors\[1\]\.bindPort: 70000 is outside/)
  })

  it('finds any place inside visitors, so checks of visitor keys carry line:col whatever they are', () => {
    const toml = new SourceMap('frpc.toml', VISITORS_TOML)
    toml.useTomlPaths(tomlPathOffsets(VISITORS_TOML))
    const yaml = parseDocument(VISITORS_YAML)
    const yamlMap = new SourceMap('frpc.yml', VISITORS_YAML)
    const at = (l: { line: number, col: number }): string => `${l.line}:${l.col}`
    const emptyDoc = parseDocument('')
    expect(at(locate(emptyDoc, toml, ['visitors', 1, 'bindPort']))).toBe('11:12')
    expect(at(locate(emptyDoc, toml, ['visitors', 1, 'natTraversal', 'disableAssistedAddrs']))).toBe('13:24')
    expect(at(locate(emptyDoc, toml, ['visitors', 1, 'natTraversal'], { key: true }))).toBe('12:1')
    expect(at(locate(emptyDoc, toml, ['visitors', 0, 'type']))).toBe('5:8')
    expect(at(locate(yaml, yamlMap, ['visitors', 1, 'bindPort']))).toBe('8:15')
    expect(at(locate(yaml, yamlMap, ['visitors', 1, 'natTraversal', 'disableAssistedAddrs']))).toBe('10:29')
  })

  // httpPlugins was refused as a whole at its first table; since relay plugins are served (issue 17
  // part 3) each [[httpPlugins]] table's own problems point at that table.
  it('reports each [[httpPlugins]] table\'s problems at its own table', () => {
    const frps = 'bindPort = 7000\n\n[[httpPlugins]]\nname = "user-manager"\naddr = "127.0.0.1:9000"\n\n[[httpPlugins]]\nname = "port-manager"\n'
    expect(issues(() => parseServerConfig(frps, 'frps.toml', {}))).toEqual([
      '3:1 httpPlugins[0].path: is missing',
      '3:1 httpPlugins[0].ops: is missing',
      '7:1 httpPlugins[1].addr: is missing',
      '7:1 httpPlugins[1].path: is missing',
      '7:1 httpPlugins[1].ops: is missing',
    ])
  })

  it('reports [[rdp]] at its line, with a hint that proxies are [[proxies]] tables', () => {
    const text = 'serverAddr = "x"\n\n[[rdp]]\ntype = "tcp"\nlocalPort = 3389\n'
    expect(issues(() => parseClientConfig(text, 'frpc.toml', {}))).toEqual([
      '3:1 rdp: unknown key; in frp v1 every proxy is an entry of proxies (TOML: a [[proxies]] table with name = "rdp"; INI\'s [rdp] sections became these)',
    ])
  })

  it('puts [proxies.plugin] under the proxy above it, at its own line, without "localPort is missing"', () => {
    const text = '[[proxies]]\nname = "a"\ntype = "tcp"\nlocalPort = 1\n\n[[proxies]]\nname = "plugin_socks5"\ntype = "tcp"\nremotePort = 6005\n[proxies.plugin]\ntype = "socks4"\n'
    const found = issues(() => parseClientConfig(text, 'frpc.toml', {}))
    expect(found).toHaveLength(1)
    expect(found[0]).toMatch(/^11:8 proxies\[1\]\.plugin\.type: /)
  })
})
