// frp's own config files (test/fixtures/frp: its conf/ examples and its e2e tests' configs) through
// `tunnel verify`. ONE table below says what each file gets: it passes (with the warnings it must
// get, e.g. a relay listener we do not open), or it is refused, and why, by reasons from REASONS.
// Every error line of a refused file must be explained by one of its reasons, and each reason must
// explain some line, so when a merge builds a feature (plugins, groups, tcpmux, visitors, ...)
// the rows that needed it fail here until they are flipped to what they now get.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { runVerify } from '../../cli/commands/verify.js'
import { detectConfigKind } from '../../shared/config/index.js'

const CORPUS = join(import.meta.dirname, '..', 'fixtures', 'frp')

/** Why a file is refused, with the error lines each reason explains. */
const REASONS = {
  // Refused on purpose, with the reason in the message.
  kcpQuic: { why: 'transport.protocol kcp / quic: transports this tunnel does not have (a relay file is only warned)', lines: /transport\.protocol: (kcp|quic) is not supported/ },
  oidc: { why: 'auth.method oidc: refused with the reason (clients prove themselves by token and key)', lines: /auth\.method: oidc is not supported: / },
} as const satisfies Record<string, { why: string, lines: RegExp }>

type Reason = keyof typeof REASONS

type Expectation =
  | { passes: true, warns?: readonly RegExp[] }
  | { refused: readonly Reason[] }

const PASSES: Expectation = { passes: true }
const passes = (...warns: RegExp[]): Expectation => ({ passes: true, warns })
const refused = (...why: Reason[]): Expectation => ({ refused: why })

/** A certificate, key or token file that exists only on frp's machines: warned in verify (the relay/client refuses to start without it). */
const MISSING = (key: string, who: 'relay' | 'client'): RegExp => new RegExp(`^${key.replace(/[.[\]()]/g, '\\$&')} names a file that is not on this machine \\(.* does not exist\\): the ${who} refuses to start until it exists there$`)

/** The relay listeners frp opens and this tunnel does not: warned, never refused. */
const LISTENER = (key: string): RegExp => new RegExp(`^${key} is an frp setting this tunnel ignores: not supported, this listener is not opened`)

/** Every file of the corpus, by path under test/fixtures/frp. */
const EXPECTED: Record<string, Expectation> = {
  'conf/frpc.toml': PASSES,
  'conf/frps.toml': PASSES,
  'conf/frpc_full_example.toml': passes(
    MISSING('proxies[10].plugin.crtPath', 'client'),
    /^proxies\[17\]\.plugin virtual_net is frp's experimental virtual network: not supported, this proxy is not started/,
    /^visitors\[2\]\.plugin virtual_net is frp's experimental virtual network: not supported, this visitor is not started/,
  ),
  'conf/frps_full_example.toml': passes(),
  // frp's legacy INI files are read as frp converts them; problems name the INI key (`section.key (v1 path)`).
  'legacy/frpc_legacy_full.ini': passes(MISSING('plugin_https2http.plugin_crt_path (plugin.crtPath)', 'client'), MISSING('plugin_https2https.plugin_key_path (plugin.keyPath)', 'client')),
  'legacy/frps_legacy_full.ini': passes(/^common\.kcp_bind_port \(kcpBindPort\) is an frp setting this tunnel ignores: not supported, this listener is not opened/),

  'e2e/annotations.frpc.toml': passes(/proxies\[0\]\.annotations is an frp setting this tunnel ignores/),
  'e2e/bandwidth-limit.frpc.toml': PASSES,
  'e2e/bandwidth-plugin.frps.toml': passes(),
  'e2e/basic-http.frpc.toml': passes(/useEncryption is an frp setting this tunnel ignores/, /useCompression is an frp setting this tunnel ignores/),
  'e2e/basic-http.frps.toml': PASSES,
  'e2e/basic-https.frpc.toml': PASSES,
  'e2e/basic-https.frps.toml': PASSES,
  'e2e/basic-stcp-server.frpc.toml': passes(/secretKey has 3 characters/),
  'e2e/basic-stcp-visitor.frpc.toml': passes(/secretKey has 3 characters/),
  'e2e/basic-sudp-server.frpc.toml': passes(/secretKey has 3 characters/),
  'e2e/basic-tcp.frpc.toml': PASSES,
  'e2e/basic-tcpmux.frpc.toml': passes(),
  'e2e/basic-tcpmux.frps.toml': passes(),
  'e2e/basic-udp.frpc.toml': PASSES,
  'e2e/chaos.frpc.toml': PASSES,
  'e2e/chaos.frps.toml': PASSES,
  'e2e/client-admin-api.frpc.toml': PASSES,
  'e2e/client-admin-open.frpc.toml': passes(/no proxies/),
  'e2e/client-server-ipv6.frps.toml': PASSES,
  'e2e/client-server-kcp.frpc.toml': refused('kcpQuic'),
  'e2e/client-server-kcp.frps.toml': passes(LISTENER('kcpBindPort')),
  'e2e/client-server-quic.frpc.toml': refused('kcpQuic'),
  'e2e/client-server-quic.frps.toml': passes(LISTENER('quicBindPort')),
  'e2e/client-server-tls-disabled.frpc.toml': PASSES,
  'e2e/client-server-tls-first-byte.frpc.toml': PASSES,
  'e2e/client-server-tls-force.frps.toml': PASSES,
  'e2e/client-server-tls-mutual.frpc.toml': passes(MISSING('transport.tls.certFile', 'client'), MISSING('transport.tls.keyFile', 'client'), MISSING('transport.tls.trustedCaFile', 'client')),
  'e2e/client-server-tls-mutual.frps.toml': passes(MISSING('transport.tls.certFile', 'relay'), MISSING('transport.tls.keyFile', 'relay'), MISSING('transport.tls.trustedCaFile', 'relay')),
  'e2e/client-server-token.frpc.toml': PASSES,
  'e2e/client-server-token.frps.toml': PASSES,
  'e2e/client-server-vhost-https-on-bind-port.frps.toml': { passes: true, warns: [/vhostHTTPSPort 7000 is also bindPort: https visitors and clients share it/] },
  'e2e/client-server-websocket.frpc.toml': PASSES,
  'e2e/client-server-wss.frpc.toml': passes(/the https2http plugin has no crtPath\/keyPath/),
  'e2e/config-env-token.frpc.toml': PASSES,
  'e2e/config-env-token.frps.toml': PASSES,
  'e2e/config-includes.frpc.toml': PASSES,
  'e2e/config-includes.frps.toml': PASSES,
  'e2e/config-json.frpc.json': PASSES,
  'e2e/config-json.frps.json': PASSES,
  'e2e/config-range-ports.frpc.toml': PASSES,
  'e2e/config-yaml.frpc.yaml': PASSES,
  'e2e/config-yaml.frps.yaml': PASSES,
  'e2e/control-replacement.frpc.toml': PASSES,
  'e2e/control-replacement.frps.toml': passes(/webServer\.pprofEnable is an frp setting this tunnel ignores/),
  'e2e/group-health-http.frpc.toml': passes(),
  'e2e/group-tcp.frpc.toml': passes(),
  'e2e/heartbeat.frpc.toml': passes(/transport\.heartbeatInterval is -1: no pings are sent/),
  'e2e/heartbeat.frps.toml': PASSES,
  'e2e/http-basic-auth.frpc.toml': PASSES,
  'e2e/http-host-rewrite.frpc.toml': PASSES,
  'e2e/http-ip-domain.frpc.toml': PASSES,
  'e2e/http-locations.frpc.toml': PASSES,
  'e2e/http-request-headers.frpc.toml': PASSES,
  'e2e/http-response-headers.frpc.toml': PASSES,
  'e2e/http-route-by-user.frpc.toml': PASSES,
  'e2e/http-subdomain.frpc.toml': PASSES,
  'e2e/http-subdomain.frps.toml': passes(/^subdomainHost is read as subDomainHost/),
  'e2e/http-timeout.frps.toml': PASSES,
  'e2e/http-vhost.frps.toml': PASSES,
  'e2e/http-wildcard.frpc.toml': PASSES,
  'e2e/legacy-default.frpc.ini': PASSES,
  'e2e/legacy-default.frps.ini': PASSES,
  'e2e/monitor.frps.toml': passes(/^webServer\.addr 0\.0\.0\.0 is not a loopback address and the admin API has no credentials: it serves only \/metrics/),
  'e2e/oidc.frpc.toml': refused('oidc'),
  'e2e/oidc.frps.toml': refused('oidc'),
  'e2e/plugin-http-proxy.frpc.toml': PASSES,
  'e2e/plugin-http2http.frpc.toml': PASSES,
  'e2e/plugin-https2http.frpc.toml': passes(MISSING('proxies[0].plugin.crtPath', 'client'), MISSING('proxies[0].plugin.keyPath', 'client')),
  'e2e/plugin-socks5.frpc.toml': PASSES,
  'e2e/plugin-static-file.frpc.toml': passes(/static does not exist \(yet\): visitors get 404/),
  'e2e/plugin-tls2raw.frpc.toml': passes(MISSING('proxies[0].plugin.crtPath', 'client'), MISSING('proxies[0].plugin.keyPath', 'client')),
  'e2e/plugin-unix-domain-socket.frpc.toml': passes(/useEncryption is an frp setting this tunnel ignores/),
  'e2e/real-ip-http-v2.frpc.toml': PASSES,
  'e2e/real-ip-http2https.frpc.toml': PASSES,
  'e2e/real-ip-tcp-v2.frpc.toml': PASSES,
  'e2e/real-ip-udp-v2.frpc.toml': PASSES,
  'e2e/server-allow-ports.frpc.toml': PASSES,
  'e2e/server-allow-ports.frps.toml': PASSES,
  'e2e/server-http-dashboard.frps.toml': PASSES,
  'e2e/server-plugin-login.frpc.toml': passes(),
  'e2e/server-plugin-login.frps.toml': passes(),
  'e2e/server-plugin-ping.frpc.toml': passes(/^auth\.additionalScopes is an frp setting this tunnel ignores/),
  'e2e/server-random-port.frpc.toml': PASSES,
  'e2e/ssh-tunnel-gateway.frps.toml': passes(LISTENER('sshTunnelGateway')),
  'e2e/store.frpc.toml': { passes: true, warns: [/the store API \(\/api\/store\/\*\) needs credentials/] },
  'e2e/tcpmux-passthrough.frps.toml': passes(),
  'e2e/tcpmux-route-by-user.frpc.toml': passes(),
  'e2e/token-source-file.frpc.toml': PASSES,
  'e2e/token-source-file.frps.toml': passes(MISSING('auth.tokenSource.file.path', 'relay')),
  'e2e/wire-v2.frpc.toml': passes(/^transport\.wireProtocol is an frp setting this tunnel ignores/),
  'e2e/xtcp-fallback.frpc.toml': passes(/^proxies\[0\] \(stcp\) has no secretKey: a visit proves only its user/, /^visitors\[0\] has no secretKey/, /^visitors\[1\] has no secretKey/),
}

/** Files (not folders) directly in conf/, legacy/ and e2e/ (e2e/includes/ holds included parts). */
function corpusFiles (): string[] {
  return ['conf', 'legacy', 'e2e'].flatMap((dir) => readdirSync(join(CORPUS, dir))
    .filter((f) => statSync(join(CORPUS, dir, f)).isFile())
    .map((f) => `${dir}/${f}`)).sort()
}

/** frps* / *.frps.* is a relay file, everything else a client file. */
const kindOf = (path: string): string => (/(^|\/)frps|\.frps\./.test(path) ? 'server' : 'client')

interface Verified { code: number, errors: string[], warnings: string[], stdout: string[] }

async function verify (path: string): Promise<Verified> {
  const file = join(CORPUS, path)
  const stdout: string[] = []
  const stderr: string[] = []
  const code = await runVerify(file, { stdout: (s) => stdout.push(s), stderr: (s) => stderr.push(s) }, {})
  // `FILE:L:C path: message (CODE)` and `FILE[:L:C] warning: message`, without the place.
  const strip = (line: string): string => line.slice(line.indexOf(' ') + 1)
  return {
    code,
    stdout,
    errors: stderr.filter((l) => / \(TUN_[A-Z_]+\)$/.test(l)).map(strip),
    warnings: stderr.filter((l) => l.includes(' warning: ')).map((l) => l.slice(l.indexOf(' warning: ') + ' warning: '.length)),
  }
}

beforeAll(() => {
  vi.stubEnv('FRP_TOKEN', 'corpus-token') // config-env-token.* read it, as frp's e2e test sets it
})
afterAll(() => {
  vi.unstubAllEnvs()
})

describe('frp\'s own config files through tunnel verify', () => {
  it('has one row per file of the corpus and one file per row', () => {
    expect(corpusFiles()).toEqual(Object.keys(EXPECTED).sort())
  })

  it('never refuses a relay file for a listener it does not open or for an auth.oidc block beside method token', async () => {
    for (const path of ['conf/frps_full_example.toml', 'e2e/client-server-kcp.frps.toml', 'e2e/client-server-quic.frps.toml', 'e2e/ssh-tunnel-gateway.frps.toml']) {
      const r = await verify(path)
      expect(r.errors.filter((e) => /kcpBindPort|quicBindPort|sshTunnelGateway|auth\.oidc/.test(e)), path).toEqual([])
      if (r.code === 0) expect(r.warnings.some((w) => /this listener is not opened/.test(w)), path).toBe(true)
    }
  })

  for (const [path, want] of Object.entries(EXPECTED)) {
    const what = 'passes' in want ? 'passes' : `is refused for ${want.refused.join(', ')}`
    it(`${path} ${what}`, async () => {
      const r = await verify(path)
      if ('passes' in want) {
        expect(r.errors, `${path} is refused; if that is right, give it a reason in the table`).toEqual([])
        expect(r.code).toBe(0)
        expect(r.stdout[0]).toMatch(new RegExp(`is valid \\(${kindOf(path)} config`))
        for (const w of want.warns ?? []) expect(r.warnings.some((line) => w.test(line)), `${path}: a warning matching ${String(w)} in\n${r.warnings.join('\n')}`).toBe(true)
        return
      }
      expect(r.code, `${path} passes now: flip its row to passes`).toBe(2)
      const reasons = want.refused.map((k) => REASONS[k])
      const unexplained = r.errors.filter((e) => !reasons.some((reason) => reason.lines.test(e)))
      expect(unexplained, `${path}: errors no listed reason explains`).toEqual([])
      for (const k of want.refused) {
        expect(r.errors.some((e) => REASONS[k].lines.test(e)), `${path}: "${REASONS[k].why}" no longer applies; remove it from the row`).toBe(true)
      }
    })
  }

  it('detects every file\'s kind from its keys, as its name says (JSON, indented TOML and legacy INI included)', () => {
    for (const path of Object.keys(EXPECTED)) {
      // The name gives no hint (x-frpc.ini is named neither frpc* nor frps*); `.ini` keeps the format.
      expect(detectConfigKind(readFileSync(join(CORPUS, path), 'utf8'), path.replace(/^.*\//, 'x-')), path).toBe(kindOf(path))
    }
  })
})
