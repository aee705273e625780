// frps.yml vhost keys and frpc.yml http/https proxies: loading, defaults, and the errors that
// name the place.
import { describe, expect, it } from 'vitest'
import { runVerify } from '../../cli/commands/verify.js'
import { proxySpec, registerBatches } from '../../client/proxy/proxy-spec.js'
import { parseClientConfig, parseServerConfig } from '../../shared/config/index.js'
import { MAX_CONTROL_BYTES } from '../../shared/wire/frame.js'
import { MessageType, parseControlMessage } from '../../shared/wire/control.js'
import { PROXY_SPEC_SCHEMAS, type ProxySpec } from '../../shared/wire/proxy-spec.js'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { configErrorLines } from '../helpers/config-errors.js'

const client = (text: string): ReturnType<typeof parseClientConfig> => parseClientConfig(text, 'frpc.yml', {})
const server = (text: string): ReturnType<typeof parseServerConfig> => parseServerConfig(text, '/etc/tunnel/frps.yml', {})

const issues = configErrorLines

const HTTP_PROXY = `proxies:
  - name: web
    type: http
    localPort: 8080
    customDomains: [www.example.com, "*.apps.example.com"]
    subdomain: home
    locations: [/, /api/]
    hostHeaderRewrite: internal.lan
    requestHeaders:
      set: { X-From: tunnel }
    responseHeaders:
      set: { X-Frame-Options: DENY }
    httpUser: alice
    httpPassword: hunter2
  - name: secure
    type: https
    localPort: 8443
    customDomains: [secure.example.com]
    transport:
      proxyProtocolVersion: v2
`

describe('frpc.yml http and https proxies', () => {
  it('loads every frp key of both types', () => {
    const { config, warnings } = client(HTTP_PROXY)
    expect(warnings.filter((w) => !w.message.includes('auth.token'))).toEqual([])
    expect(config.proxies[0]).toMatchObject({
      name: 'web', type: 'http', localIP: '127.0.0.1', localPort: 8080,
      customDomains: ['www.example.com', '*.apps.example.com'], subdomain: 'home', locations: ['/', '/api/'],
      hostHeaderRewrite: 'internal.lan', requestHeaders: { 'X-From': 'tunnel' }, responseHeaders: { 'X-Frame-Options': 'DENY' }, httpUser: 'alice',
    })
    expect(config.proxies[1]).toMatchObject({ name: 'secure', type: 'https', customDomains: ['secure.example.com'], subdomain: '', proxyProtocolVersion: 'v2' })
    expect(JSON.stringify(config)).not.toContain('hunter2')
  })

  it('sends the relay every setting, the password included, in a message the relay parses back', () => {
    const { config } = client(HTTP_PROXY)
    const specs = config.proxies.map((p) => proxySpec(p.name, p))
    expect(specs[0]).toMatchObject({ type: 'http', httpUser: 'alice', httpPassword: 'hunter2', subdomain: 'home', locations: ['/', '/api/'] })
    const wire = parseControlMessage(JSON.parse(JSON.stringify({ type: MessageType.REGISTER, proxies: specs })))
    if (wire.type !== MessageType.REGISTER) throw new Error('not a register')
    expect(wire.proxies.map((p) => PROXY_SPEC_SCHEMAS[p.type as ProxySpec['type']].parse(p))).toEqual(specs)
    expect(parseControlMessage({ type: 'proxyResult', name: 'web', ok: true, remotePort: 80, domains: ['www.example.com'] })).toMatchObject({ domains: ['www.example.com'] })
  })

  it('cuts a long proxy list into REGISTER messages under the control frame limit', () => {
    const spec = (i: number): ProxySpec => ({ name: `p${i}`, type: 'http', customDomains: Array.from({ length: 64 }, (_, j) => `d${j}.${'x'.repeat(200)}.test`), locations: [] })
    const specs = Array.from({ length: 20 }, (_, i) => spec(i))
    const batches = registerBatches(specs)
    expect(batches.length).toBeGreaterThan(1)
    expect(batches.flat()).toEqual(specs)
    for (const b of batches) expect(Buffer.byteLength(JSON.stringify({ type: 'register', proxies: b }))).toBeLessThan(MAX_CONTROL_BYTES)
  })

  it('takes proxyProtocolVersion on an http proxy without a warning (frp\'s real-ip-http file) and tells the relay its streams carry a PROXY header', () => {
    const { config, warnings } = client('proxies:\n  - name: c\n    type: http\n    localPort: 1\n    customDomains: [c.test]\n    transport: { proxyProtocolVersion: v2 }\n')
    expect(warnings.filter((w) => w.location.path.includes('proxyProtocolVersion'))).toEqual([])
    const proxy = config.proxies[0]
    expect(proxy).toMatchObject({ type: 'http', proxyProtocolVersion: 'v2' })
    if (proxy === undefined) throw new Error('no proxy')
    expect(proxySpec('', proxy)).toMatchObject({ type: 'http', proxyProtocol: true })
    const plain = client('proxies:\n  - name: c\n    type: http\n    localPort: 1\n    customDomains: [c.test]\n').config.proxies[0]
    if (plain === undefined) throw new Error('no proxy')
    expect(proxySpec('', plain)).not.toHaveProperty('proxyProtocol')
  })

  it('refuses keys that belong to another type, with their places', () => {
    const lines = issues(() => client(`proxies:
  - name: a
    type: https
    localPort: 1
    customDomains: [a.test]
    locations: [/x]
    remotePort: 443
  - name: b
    type: tcp
    localPort: 1
    customDomains: [b.test]
  - name: c
    type: http
    localPort: 1
    customDomains: [c.test]
    transport: { proxyProtocolVersion: v1 }
`))
    expect(lines).toEqual([
      'frpc.yml:6:5 proxies[0].locations: locations applies only to type http proxies; remove it (TUN_CONFIG_INVALID)',
      expect.stringMatching(/^frpc\.yml:7:5 proxies\[0\]\.remotePort: an https proxy has no port of its own: .*vhostHTTPSPort.* \(TUN_CONFIG_INVALID\)$/),
      'frpc.yml:11:5 proxies[1].customDomains: customDomains applies only to type http and https proxies; remove it (TUN_CONFIG_INVALID)',
    ])
  })

  it('needs customDomains or subdomain, and checks each value', () => {
    expect(issues(() => client('proxies: [{ name: a, type: http, localPort: 1 }]'))[0]).toContain('an http proxy needs customDomains (e.g. [www.example.com]) or subdomain')
    expect(issues(() => client('proxies: [{ name: a, type: http, localPort: 1, customDomains: ["bad domain"] }]'))[0]).toContain('proxies[0].customDomains[0]: must be a domain')
    expect(issues(() => client('proxies: [{ name: a, type: http, localPort: 1, subdomain: a.b }]'))[0]).toContain('subdomain: must be one label')
    expect(issues(() => client('proxies: [{ name: a, type: http, localPort: 1, customDomains: [a.test], locations: [api] }]'))[0]).toContain('locations[0]: must be a path prefix starting with /')
    expect(issues(() => client('proxies: [{ name: a, type: http, localPort: 1, customDomains: [a.test], requestHeaders: { set: { "bad name": x } } }]')).join('\n')).toContain('is not a header name')
    expect(issues(() => client('proxies: [{ name: a, type: https, localPort: 1, customDomains: [a.test], routeByHTTPUser: x }]'))[0]).toContain('routeByHTTPUser: it applies only to type http and tcpmux proxies')
  })

  it('warns about one domain and location claimed by two proxies of the file (the relay refuses the second alone)', () => {
    const { warnings } = client(`auth: { token: t }
proxies:
  - { name: a, type: http, localPort: 1, customDomains: [A.test] }
  - { name: b, type: http, localPort: 2, customDomains: [x.test, a.test.] }
  - { name: c, type: http, localPort: 3, customDomains: [a.test], locations: [/api] }
  - { name: d, type: https, localPort: 4, customDomains: [a.test] }
`)
    expect(warnings.map((w) => `${w.location.line}:${w.location.col} ${w.location.path}: ${w.message}`)).toEqual([
      '4:66 proxies[1].customDomains[1]: a.test (location /) is also claimed by proxies[0]: the relay serves it by the first proxy to register and refuses the other (TUN_VHOST_CONFLICT); give each domain and location one proxy',
    ])
  })
})

describe('frps.yml vhost keys', () => {
  it('are off by default and load as written', () => {
    expect(server('').config).toMatchObject({ vhostHTTPPort: 0, vhostHTTPSPort: 0, vhostHTTPTimeout: 60, subDomainHost: '', custom404Page: null })
    const { config } = server('vhostHTTPPort: 80\nvhostHTTPSPort: 443\nvhostHTTPTimeout: 30\nsubDomainHost: Example.com\ncustom404Page: pages/404.html\n')
    expect(config).toMatchObject({ vhostHTTPPort: 80, vhostHTTPSPort: 443, vhostHTTPTimeout: 30, subDomainHost: 'Example.com', custom404Page: '/etc/tunnel/pages/404.html' })
  })

  it('refuses a vhost port shared with bindPort or with the other vhost port', () => {
    expect(issues(() => server('vhostHTTPPort: 7000'))[0]).toContain('vhostHTTPPort 7000 is also bindPort')
    // vhostHTTPSPort may share bindPort (frp's shared port): a warning says what clients must do.
    expect(server('vhostHTTPSPort: 7000').warnings.map((w) => w.message)).toContainEqual(expect.stringContaining('vhostHTTPSPort 7000 is also bindPort: https visitors and clients share it'))
    expect(issues(() => server('vhostHTTPPort: 80\nvhostHTTPSPort: 80'))[0]).toContain('vhostHTTPSPort 80 is also vhostHTTPPort')
    expect(issues(() => server('subDomainHost: example.com'))[0]).toContain('subDomainHost needs vhostHTTPPort, vhostHTTPSPort or tcpmuxHTTPConnectPort')
    expect(issues(() => server('vhostHTTPPort: 80\nsubDomainHost: "not a domain"'))[0]).toContain('subDomainHost: must be a domain')
  })

  it('tunnel verify accepts them', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tunnel-verify-')), 'frps.yml')
    writeFileSync(file, 'bindPort: 7000\nvhostHTTPPort: 80\nvhostHTTPSPort: 443\nsubDomainHost: example.com\nauth: { token: x }\n')
    const out: string[] = []
    const code = await runVerify(file, { stdout: (s) => out.push(s), stderr: (s) => out.push(s) }, { strict: false })
    expect({ code, out }).toEqual({ code: 0, out: [`tunnel: ${file} is valid (server config)`] })
  })
})
