// Issue 17 (found by the frp corpus): frp decodes its files with Go's encoding/json, which
// matches key names regardless of case, and frp's own e2e tests write `subdomainHost`; users
// write `localIp` or `[webserver]`. Those were "unknown key" here. Now a key that differs from a
// known one only in case is read as that key with a warning saying how to write it, in TOML and
// YAML, at any depth; problems with its value point at it; free-form maps keep their keys.
import { describe, expect, it } from 'vitest'
import { detectConfigKind, parseClientConfig, parseServerConfig } from '../../shared/config/index.js'

describe('issue 17: key names are matched regardless of case, as frp does', () => {
  it('reads frp\'s e2e subdomainHost as subDomainHost, with a warning at its line', () => {
    const { config, warnings } = parseServerConfig('\n\t\tbindPort = 7000\n\t\tvhostHTTPPort = 8080\n\t\tsubdomainHost = "example.com"\n', 'frps.toml', {})
    expect(config.subDomainHost).toBe('example.com')
    expect(warnings.map((w) => `${w.location.line}:${w.location.col} ${w.message}`)).toContainEqual('4:3 subdomainHost is read as subDomainHost (frp matches key names regardless of case); write subDomainHost')
  })

  it('folds keys inside tables and proxies, and points value problems at the key as written', () => {
    const { config } = parseClientConfig('[WebServer]\nPort = 7400\n\n[[Proxies]]\nName = "a"\nTYPE = "tcp"\nlocalIp = "10.0.0.2"\nlocalport = 22\n', 'frpc.toml', {})
    expect(config.webServer?.port).toBe(7400)
    expect(config.proxies[0]).toMatchObject({ name: 'a', type: 'tcp', localIP: '10.0.0.2', localPort: 22 })
    expect(() => parseClientConfig('proxies:\n  - name: a\n    type: tcp\n    localport: 99999\n', 'frpc.yml', {})).toThrow(/^frpc\.yml:4:16 proxies\[0\]\.localPort: 99999 is outside 1-65535/)
  })

  it('leaves a key alone when its right spelling is there too, and never renames inside free-form maps', () => {
    expect(() => parseServerConfig('bindPort: 7000\nbindport: 7001\n', 'frps.yml', {})).toThrow(/bindport: unknown key; did you mean bindPort\?/)
    const { config } = parseClientConfig('proxies:\n  - name: w\n    type: http\n    localPort: 80\n    customDomains: [a.example.com]\n    requestHeaders:\n      set:\n        X-From-Where: frp\n', 'frpc.yml', {})
    expect(config.proxies[0]).toMatchObject({ requestHeaders: { 'X-From-Where': 'frp' } })
  })

  it('counts case-variant keys when deciding the kind of a file', () => {
    expect(detectConfigKind('{"BindPort": 7000}', 'conf.json')).toBe('server')
    expect(detectConfigKind('ServerAddr = "x"\n', 'frps.toml')).toBe('client')
  })
})
