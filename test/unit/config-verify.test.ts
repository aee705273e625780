import { describe, it, expect } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runVerify } from '../../cli/commands/verify.js'

const ROOT = join(import.meta.dirname, '..', '..')

async function verify (file: string, strict = false): Promise<{ code: number, stdout: string[], stderr: string[] }> {
  const stdout: string[] = []
  const stderr: string[] = []
  const code = await runVerify(file, { stdout: (s) => stdout.push(s), stderr: (s) => stderr.push(s) }, { strict })
  return { code, stdout, stderr }
}

function write (name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tunnel-verify-')), name)
  writeFileSync(file, text)
  return file
}

describe('tunnel verify', () => {
  it('exits 0 and says which kind of config a valid file is', async () => {
    for (const [name, kind] of [['frps.yml', 'server'], ['frpc.yml', 'client']] as const) {
      const file = join(ROOT, 'configs', name)
      const r = await verify(file)
      expect(r).toEqual({ code: 0, stdout: [`tunnel: ${file} is valid (${kind} config)`], stderr: [] })
    }
  })

  it('detects the kind from the content, not the name', async () => {
    const r = await verify(write('relay.yml', 'bindPort: 7000\nauth: { token: x }\n'))
    expect(r.stdout[0]).toMatch(/is valid \(server config\)$/)
  })

  it('prints warnings as file:line:col warning: … on stderr and still exits 0', async () => {
    const file = write('frpc.yml', 'auth: { token: x }\ntransport:\n  tcpMux: true\nproxies: [{ name: a, type: tcp, localPort: 1 }]\n')
    const r = await verify(file)
    expect(r.code).toBe(0)
    expect(r.stderr).toEqual([`${file}:3:3 warning: transport.tcpMux is an frp setting this tunnel ignores: the control connection always multiplexes streams`])
  })

  it('with --strict, warnings make it exit 2', async () => {
    const r = await verify(write('frps.yml', 'bindPort: 7000\n'), true)
    expect(r.code).toBe(2)
    expect(r.stdout).toEqual([])
    expect(r.stderr.at(-1)).toContain('--strict')
  })

  it('exits 2 with one file:line:col line per issue on stderr', async () => {
    const file = write('frpc.yml', 'serverAddr: x\nserverPort: 70000\nbogus: 1\n')
    const r = await verify(file)
    expect(r.code).toBe(2)
    expect(r.stdout).toEqual([])
    expect(r.stderr).toEqual([
      `${file}:2:13 serverPort: 70000 is outside 1-65535 (TUN_CONFIG_RANGE)`,
      expect.stringMatching(new RegExp(`^${file}:3:1 bogus: unknown key`)),
    ])
  })

  it('warns when a per-client cap is turned off or a per-user cap is below its per-client twin', async () => {
    const file = write('frps.yml', 'auth: { token: x }\nmaxLocationsPerClient: 0\nmaxProxiesPerClient: 100\nmaxProxiesPerUser: 50\nownershipGrace: 0\n')
    const r = await verify(file)
    expect(r.code).toBe(0)
    expect(r.stderr).toEqual([
      `${file}:2:24 warning: maxLocationsPerClient is 0: one client may make the relay hold any number of them (memory and CPU for every token holder to spend)`,
      `${file}:4:20 warning: maxProxiesPerUser 50 is below maxProxiesPerClient 100: a user's single client is held to 50`,
    ])
  })

  it('exits 2 when the file cannot be read', async () => {
    const r = await verify(join(tmpdir(), 'tunnel-verify-missing', 'frpc.yml'))
    expect(r.code).toBe(2)
    expect(r.stderr[0]).toContain('TUN_CONFIG_READ')
  })
})
