// Issue 17: `tunnel verify` guessed a file's kind from keys at the start of lines, client keys
// first, so an frps.toml whose [webServer] table holds `user = "admin"` was checked as a client
// file (while `tunnel server -c` ran it), and so were frp's JSON relay configs and indented TOML
// unless the name started with frps. Now the file is parsed (TOML, YAML or JSON) and judged by
// its top-level keys, and `--kind server|client` overrides the guess.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { runVerify } from '../../cli/commands/verify.js'
import { detectConfigKind } from '../../shared/config/index.js'
import { cleanupCli, E2E_TEST_TIMEOUT_MS, exitWithin, spawnCli, writeTempFile } from '../helpers/cli.js'

afterEach(async () => {
  await cleanupCli()
})

async function verify (file: string, kind?: 'server' | 'client'): Promise<{ code: number, stdout: string[], stderr: string[] }> {
  const stdout: string[] = []
  const stderr: string[] = []
  const code = await runVerify(file, { stdout: (s) => stdout.push(s), stderr: (s) => stderr.push(s) }, { kind })
  return { code, stdout, stderr }
}

function write (name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tunnel-kind-')), name)
  writeFileSync(file, text)
  return file
}

/** Relay files frp users have (all but one not named frps*). */
const RELAY_FILES: Record<string, string> = {
  'relay.toml': 'bindPort = 7000\nauth.token = "t"\n\n[webServer]\naddr = "127.0.0.1"\nport = 7500\nuser = "admin"\npassword = "admin"\n',
  // Only keys both sides have: the name decides, and `user` inside [webServer] does not.
  'frps-admin.toml': '[webServer]\nuser = "admin"\npassword = "pw"\nport = 7500\n\n[auth]\ntoken = "t"\n',
  'relay.json': '{"bindPort": 7000, "log": {"level": "trace"}, "auth": {"token": "t"}}',
  'indented.toml': '\n\t\t\tbindPort = 7000\n\t\t\tlog.level = "trace"\n\t\t\tauth.token = "t"\n',
  'templated.toml': 'bindPort = {{ .Envs.FRPS_PORT }}\n[webServer]\nuser = "{{ .Envs.ADMIN }}"\npassword = "x"\n',
  'relay.yaml': 'webServer:\n  user: admin\n  password: pw\n  port: 7500\nvhostHTTPPort: 8080\n',
}

describe('issue 17: verify decides the kind by the parsed top-level keys', () => {
  it('takes frp relay files with [webServer] user, JSON and indented TOML for relay files', () => {
    for (const [name, text] of Object.entries(RELAY_FILES)) expect(detectConfigKind(text, name), name).toBe('server')
  })

  it('still takes client files for client files, whatever their tables hold', () => {
    expect(detectConfigKind('serverAddr = "x"\n\n[webServer]\nport = 7400\nuser = "admin"\npassword = "a"\n', 'a.toml')).toBe('client')
    expect(detectConfigKind('{"serverPort": 7000, "proxies": [{"name": "tcp", "type": "tcp", "localPort": 22}]}', 'a.json')).toBe('client')
    expect(detectConfigKind('\n\t\t\tserverAddr = "127.0.0.1"\n\t\t\tserverPort = 7000\n\n\t\t\t[[proxies]]\n\t\t\tname = "tcp"\n', 'frps.toml')).toBe('client')
    expect(detectConfigKind('includes = ["./confd/*.toml"]\n', 'x.toml')).toBe('client')
  })

  it('reads a file that does not parse line by line, top-level keys only', () => {
    expect(detectConfigKind('[webServer]\nuser = "admin"\nbindPort = = 7000\n', 'x.toml')).toBe('client') // nothing top-level: the name decides
    expect(detectConfigKind('bindPort = 7000\n[webServer]\nuser = "admin"\nbroken = = 1\n', 'x.toml')).toBe('server')
  })

  it('tunnel verify checks a [webServer] user relay file as a relay file and passes it', async () => {
    const r = await verify(write('relay.toml', RELAY_FILES['relay.toml'] ?? ''))
    expect(r.code).toBe(0)
    expect(r.stdout[0]).toMatch(/is valid \(server config\)$/)
  })

  it('--kind overrides the guess both ways', async () => {
    const file = write('frpc.yml', 'auth:\n  token: t\nlog:\n  level: info\n')
    expect((await verify(file)).stdout[0]).toMatch(/\(client config\)$/)
    expect((await verify(file, 'server')).stdout[0]).toMatch(/\(server config\)$/)
    const wrong = await verify(write('frps.yml', 'bindPort: 7000\n'), 'client')
    expect(wrong.code).toBe(2)
    expect(wrong.stderr[0]).toContain('bindPort: is a server setting')
  })

  it('the command line takes --kind and refuses other values', { timeout: E2E_TEST_TIMEOUT_MS }, async () => {
    const file = await writeTempFile('conf.yml', 'auth:\n  token: t\n')
    const ok = spawnCli(['verify', '-c', file, '--kind', 'server'])
    expect(await exitWithin(ok, 10_000)).toEqual({ code: 0, signal: null })
    expect(ok.stdout()).toContain('is valid (server config)')
    const bad = spawnCli(['verify', '-c', file, '--kind', 'relay'])
    expect(await exitWithin(bad, 10_000)).toEqual({ code: 2, signal: null })
  })
})
