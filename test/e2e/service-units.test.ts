// The systemd units in configs/systemd/: parsed and checked for the settings that matter (restart
// on failure but not on exit 2, the commands they run, hardening that still lets the relay bind
// low ports, the fd limit), tied to what the CLI really does (a bad config exits 2), and, where
// systemd-analyze exists, verified by systemd itself.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, E2E_TEST_TIMEOUT_MS, exitWithin, spawnCli, writeTempFile } from '../helpers/cli.js'

const UNITS_DIR = join(import.meta.dirname, '..', '..', 'configs', 'systemd')
const SERVER_UNIT = 'tunnel-server.service'
const CLIENT_UNIT = 'tunnel-client.service'

type Unit = Map<string, Map<string, string[]>>

/** systemd's unit syntax, enough for these files: sections, `Key=value` (repeatable), comments. */
function parseUnit (text: string): Unit {
  const unit: Unit = new Map()
  let section: Map<string, string[]> | undefined
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return
    const header = /^\[([A-Za-z]+)\]$/.exec(line)
    if (header !== null) {
      section = new Map()
      unit.set(header[1] ?? '', section)
      return
    }
    const eq = line.indexOf('=')
    if (section === undefined || eq <= 0) throw new Error(`line ${i + 1} is not a Key=value in a section: ${raw}`)
    const key = line.slice(0, eq).trim()
    section.set(key, [...(section.get(key) ?? []), line.slice(eq + 1).trim()])
  })
  return unit
}

const load = (name: string): Unit => parseUnit(readFileSync(join(UNITS_DIR, name), 'utf8'))
/** The last value of a key (systemd's rule for single-valued keys). */
const get = (u: Unit, section: string, key: string): string | undefined => u.get(section)?.get(key)?.at(-1)
const all = (u: Unit, section: string, key: string): string[] => u.get(section)?.get(key) ?? []

const tempDirs: string[] = []
afterEach(async () => {
  await cleanupCli()
  await Promise.all(tempDirs.splice(0).map(async (d) => { await rm(d, { recursive: true, force: true }) }))
})

describe('systemd units', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  for (const [name, command] of [[SERVER_UNIT, 'server'], [CLIENT_UNIT, 'client']] as const) {
    it(`${name}: runs \`tunnel ${command} -c\`, restarts on failure but not on exit 2, hardened`, () => {
      const u = load(name)
      expect([...u.keys()]).toEqual(['Unit', 'Service', 'Install'])
      expect(get(u, 'Service', 'ExecStart')).toMatch(new RegExp(`^/\\S+/tunnel ${command} -c /etc/tunnel/\\S+\\.yml$`))
      expect(get(u, 'Service', 'Type')).toBe('exec')
      expect(get(u, 'Service', 'Restart')).toBe('on-failure')
      expect(all(u, 'Service', 'RestartPreventExitStatus').join(' ').split(/\s+/)).toContain('2')
      expect(get(u, 'Service', 'KillSignal') ?? 'SIGTERM').toBe('SIGTERM')
      expect(Number(get(u, 'Service', 'LimitNOFILE'))).toBeGreaterThanOrEqual(65_536)
      expect(get(u, 'Unit', 'After')).toContain('network-online.target')
      expect(get(u, 'Unit', 'Wants')).toContain('network-online.target')
      expect(get(u, 'Install', 'WantedBy')).toBe('multi-user.target')
      const hardening: Array<[string, string]> = [['NoNewPrivileges', 'yes'], ['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes'], ['DynamicUser', 'yes']]
      for (const [key, value] of hardening) {
        expect(get(u, 'Service', key), key).toBe(value)
      }
      // V8's JIT needs writable executable memory: this would kill node at start.
      expect(get(u, 'Service', 'MemoryDenyWriteExecute')).not.toBe('yes')
      // Sockets of both families (and netlink, which libuv's interface listing uses).
      expect(get(u, 'Service', 'RestrictAddressFamilies')?.split(/\s+/)).toEqual(expect.arrayContaining(['AF_INET', 'AF_INET6']))
    })
  }

  it(`${SERVER_UNIT} may bind ports below 1024 and nothing else; ${CLIENT_UNIT} has no capabilities and reloads with SIGHUP`, () => {
    const server = load(SERVER_UNIT)
    expect(get(server, 'Service', 'AmbientCapabilities')).toBe('CAP_NET_BIND_SERVICE')
    expect(get(server, 'Service', 'CapabilityBoundingSet')).toBe('CAP_NET_BIND_SERVICE')
    expect(get(server, 'Service', 'LoadCredential')).toBe('relay.key:/etc/tunnel/relay.key')
    const client = load(CLIENT_UNIT)
    expect(get(client, 'Service', 'CapabilityBoundingSet')).toBe('')
    expect(get(client, 'Service', 'AmbientCapabilities') ?? '').toBe('')
    expect(get(client, 'Service', 'ExecReload')).toBe('/bin/kill -HUP $MAINPID')
    // SIGHUP reloads the client's proxies in place (test/e2e/reload.test.ts): no restart needed.
    expect(get(client, 'Service', 'RestartForceExitStatus')).toBeUndefined()
  })

  it(`${CLIENT_UNIT} gives the client a StateDirectory, and the client keeps its key there (the one file it writes)`, async () => {
    const client = load(CLIENT_UNIT)
    expect(get(client, 'Service', 'StateDirectory')).toBe('tunnel')
    expect(get(client, 'Service', 'StateDirectoryMode')).toBe('0700')
    // What systemd does for StateDirectory=: create the directory and name it in $STATE_DIRECTORY.
    const state = await mkdtemp(join(tmpdir(), 'tunnel-state-'))
    tempDirs.push(state)
    const frpc = await writeTempFile('frpc-unit.yml', 'serverAddr: 127.0.0.1\nserverPort: 7000\nclientID: unit-test\n')
    const show = spawnCli(['keygen', '--client', '--show', '-c', frpc], { env: { STATE_DIRECTORY: state } })
    expect(await exitWithin(show, 10_000)).toEqual({ code: 0, signal: null })
    expect(show.stdout()).toContain(`${join(state, 'unit-test.key')} (created now)`)
    expect((await stat(join(state, 'unit-test.key'))).mode & 0o777).toBe(0o600)
  })

  it('exit code 2 (what RestartPreventExitStatus names) is what the CLI returns for a bad config', async () => {
    const bad = await writeTempFile('frps-bad.yml', 'bindPort: seven\n')
    const server = spawnCli(['server', '-c', bad, '--log-format', 'json'])
    expect(await exitWithin(server, 10_000)).toEqual({ code: 2, signal: null })
    const client = spawnCli(['client', '-c', bad.replace('frps-bad', 'frpc-missing'), '--log-format', 'json'])
    expect(await exitWithin(client, 10_000)).toEqual({ code: 2, signal: null })
  })

  it('systemd-analyze verify accepts both units (skipped, with a message, where systemd-analyze is missing)', async () => {
    const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' })
    if (probe.error !== undefined || probe.status !== 0) {
      console.info(`systemd-analyze is not available here (${probe.error?.message ?? `exit ${String(probe.status)}`}): the units were checked by the parser above only, not by systemd`)
      return
    }
    // verify insists the executables exist: point ExecStart at node for the check.
    const dir = await mkdtemp(join(tmpdir(), 'tunnel-units-'))
    tempDirs.push(dir)
    const files = await Promise.all([SERVER_UNIT, CLIENT_UNIT].map(async (name) => {
      const text = readFileSync(join(UNITS_DIR, name), 'utf8').replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath}`)
      const path = join(dir, name)
      await writeFile(path, text)
      return path
    }))
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', ...files], { encoding: 'utf8', timeout: 20_000 })
    const aboutUs = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => files.some((f) => l.includes(f)) || l.includes('tunnel-'))
    expect(aboutUs, r.stderr).toEqual([])
    expect(r.status, r.stderr).toBe(0)
  })
})
