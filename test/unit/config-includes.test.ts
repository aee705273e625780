import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadClientConfig, parseClientConfig, type ClientConfig } from '../../shared/config/index.js'
import { globMatch } from '../../shared/config/includes.js'
import { ConfigError } from '../../shared/errors.js'

/** A fresh folder with `files` (path → text) written into it; returns the folder. */
function tree (files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tunnel-includes-'))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  return dir
}

const MAIN = 'serverAddr: 127.0.0.1\nauth: { token: t }\nincludes: ["./confd/*.yml"]\nproxies:\n  - { name: main, type: tcp, localPort: 1, remotePort: 6000 }\n'
const names = (c: ClientConfig): string[] => c.proxies.map((p) => p.name)

function failure (load: () => unknown): ConfigError {
  try {
    load()
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('loaded, but should not')
}

const lines = (e: ConfigError): string[] => e.message.split('\n')

describe('includes', () => {
  it('appends the proxies of every matching file, in name order, after the file\'s own', async () => {
    const dir = tree({
      'frpc.yml': MAIN,
      'confd/b.yml': 'proxies:\n  - { name: b, type: udp, localPort: 53, remotePort: 5353 }\n',
      'confd/a.yml': 'proxies:\n  - { name: a1, type: tcp, localPort: 2 }\n  - { name: a2, type: tcp, localPort: 3 }\n',
      'confd/notes.txt': 'not a config',
    })
    const loaded = await loadClientConfig(join(dir, 'frpc.yml'), {})
    expect(names(loaded.config)).toEqual(['main', 'a1', 'a2', 'b'])
    expect(loaded.included).toEqual([join(dir, 'confd', 'a.yml'), join(dir, 'confd', 'b.yml')])
    expect(loaded.warnings).toEqual([])
  })

  it('reads TOML and JSON files by their extension, with templates and port ranges, in frp\'s own form', async () => {
    const dir = tree({
      'frpc.toml': 'serverAddr = "127.0.0.1"\nauth.token = "t"\nincludes = ["./confd/*.toml", "confd/*.json"]\n',
      'confd/test.toml': '[[proxies]]\nname = "ssh"\ntype = "tcp"\nlocalIP = "127.0.0.1"\nlocalPort = 22\nremotePort = {{ .Envs.SSH_PORT }}\n' +
        '{{- range $_, $v := parseNumberRangePair "7000-7001" "8000-8001" }}\n[[proxies]]\nname = "r-{{ $v.First }}"\ntype = "tcp"\nlocalPort = {{ $v.First }}\nremotePort = {{ $v.Second }}\n{{- end }}\n',
      'confd/web.json': '{"proxies": [{"name": "web", "type": "tcp", "localPort": 80}]}',
    })
    const { config } = await loadClientConfig(join(dir, 'frpc.toml'), { SSH_PORT: '6000' })
    expect(config.proxies.map((p) => `${p.name}:${'remotePort' in p ? p.remotePort : '-'}`)).toEqual(['ssh:6000', 'r-7000:8000', 'r-7001:8001', 'web:0'])
  })

  it('reports each problem at its own file:line:col, all at once, the including file first', () => {
    const dir = tree({
      'frpc.yml': MAIN.replace('remotePort: 6000', 'remotePort: 70000'),
      'confd/a.yml': 'proxies:\n  - name: a\n    type: tcp\n    localPort: 99999\n',
      'confd/b.yml': 'proxies:\n  - name: b\n    type: tcp\n    localPort: 1\n    bogus: 1\n',
    })
    const e = failure(() => parseClientConfig(MAIN.replace('remotePort: 6000', 'remotePort: 70000'), join(dir, 'frpc.yml'), {}))
    expect(lines(e)).toEqual([
      `${join(dir, 'frpc.yml')}:5:56 proxies[0].remotePort: 70000 is outside 0-65535 (TUN_CONFIG_RANGE)`,
      `${join(dir, 'confd', 'a.yml')}:4:16 proxies[0].localPort: 99999 is outside 1-65535 (TUN_CONFIG_RANGE)`,
      expect.stringMatching(new RegExp(`^${join(dir, 'confd', 'b.yml')}:5:5 proxies\\[0\\]\\.bogus: unknown key`)),
    ])
  })

  it('refuses a name or a port used in two files, naming the other file and line', () => {
    const dir = tree({
      'frpc.yml': MAIN,
      'confd/a.yml': 'proxies:\n  - { name: other, type: tcp, localPort: 2, remotePort: 6000 }\n  - { name: main, type: udp, localPort: 3 }\n',
    })
    const e = failure(() => parseClientConfig(MAIN, join(dir, 'frpc.yml'), {}))
    expect(lines(e)).toEqual([
      `${join(dir, 'confd', 'a.yml')}:2:57 proxies[0].remotePort: remotePort 6000 is already used in ${join(dir, 'frpc.yml')} line 5; give each proxy its own port or 0 (TUN_CONFIG_INVALID)`,
      `${join(dir, 'confd', 'a.yml')}:3:13 proxies[1].name: proxy name main is already used in ${join(dir, 'frpc.yml')} line 5; names must be unique across included files (TUN_CONFIG_INVALID)`,
    ])
  })

  it('says clearly when the folder is missing, at the includes entry', () => {
    const dir = tree({ 'frpc.yml': MAIN })
    const e = failure(() => parseClientConfig(MAIN, join(dir, 'frpc.yml'), {}))
    expect(e.code).toBe('TUN_CONFIG_READ')
    expect(e.message).toBe(`${join(dir, 'frpc.yml')}:3:12 includes[0]: the folder ${join(dir, 'confd')} does not exist (./confd/*.yml is relative to the folder of frpc.yml) (TUN_CONFIG_READ)`)
  })

  it('warns about a pattern that matches nothing, keys an included file does not contribute, and itself', () => {
    const dir = tree({
      'frpc.yml': 'auth: { token: t }\nincludes: ["./*.yml", "./confd/*.toml"]\n',
      'extra.yml': 'serverAddr: 10.0.0.1\nproxies:\n  - { name: x, type: tcp, localPort: 1, transport: { useEncryption: true } }\n',
      'confd/.keep': '',
    })
    const { config, warnings } = parseClientConfig('auth: { token: t }\nincludes: ["./*.yml", "./confd/*.toml"]\n', join(dir, 'frpc.yml'), {})
    expect(names(config)).toEqual(['x'])
    expect(warnings.map((w) => `${w.location.file.slice(dir.length + 1)}:${w.location.line} ${w.message}`)).toEqual([
      'frpc.yml:2 ./*.yml matches this file itself; it is not included again',
      `frpc.yml:2 ./confd/*.toml matches no file in ${join(dir, 'confd')}`,
      'extra.yml:1 serverAddr is not read from an included file: only proxies and visitors are (as in frp); set it in the file that includes this one',
      'extra.yml:3 proxies[0].transport.useEncryption is an frp setting this tunnel ignores: every stream rides the encrypted control connection',
    ])
  })

  it('takes absolute patterns, skips folders and dangling links, and refuses wildcards outside the file name', () => {
    const dir = tree({ 'abs/one.yml': 'proxies: [{ name: one, type: tcp, localPort: 1 }]\n', 'abs/sub.yml/x': '' })
    symlinkSync(join(dir, 'nowhere.yml'), join(dir, 'abs', 'dangling.yml'))
    const text = `includes: ["${join(dir, 'abs', '*.yml')}"]\n`
    expect(names(parseClientConfig(text, join(dir, 'frpc.yml'), {}).config)).toEqual(['one'])
    expect(failure(() => parseClientConfig('includes: ["./*/x.yml"]\n', join(dir, 'frpc.yml'), {})).message).toContain('wildcards may only be in the file name')
  })

  it('matches file names as Go\'s filepath.Match does', () => {
    expect(globMatch('*.yml', 'a.yml')).toBe(true)
    expect(globMatch('*.yml', 'a.yaml')).toBe(false)
    expect(globMatch('?.toml', 'a.toml')).toBe(true)
    expect(globMatch('?.toml', 'ab.toml')).toBe(false)
    expect(globMatch('[a-c]*.yml', 'b1.yml')).toBe(true)
    expect(globMatch('[^a-c]*.yml', 'b1.yml')).toBe(false)
    expect(globMatch('web.yml', 'web.yml')).toBe(true)
    expect(globMatch('web\\*.yml', 'web*.yml')).toBe(true)
    expect(globMatch('web\\*.yml', 'webx.yml')).toBe(false)
    expect(globMatch('(a).yml', '(a).yml')).toBe(true)
    expect(globMatch('[a.yml', '[a.yml')).toBe(false)
  })
})
