// `tunnel diag nat-timeout` against a real relay on loopback (no NAT: every idle time survives),
// beside a running client that must not be disturbed; the relay's side of a probe; bad flags.
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, exitWithin, logMsg, spawnCli, startClient, startRelay, writeTempFile } from '../helpers/cli.js'
import { closeServices, echoOnce, getFreePort, startEchoServer } from '../helpers/services.js'

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

describe('tunnel diag nat-timeout', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('finds every idle time alive on loopback, brackets nothing above the max, and leaves the running client alone', async () => {
    const echo = await startEchoServer()
    const remotePort = await getFreePort()
    const relay = await startRelay()
    const client = await startClient(clientYaml({ serverPort: relay.port, proxies: [{ name: 'echo', localPort: echo.port, remotePort }], extraYaml: 'transport:\n  heartbeatInterval: 1' }))
    const probe = spawnCli(['diag', 'nat-timeout', '-c', client.configPath, '--idle', '1', '--idle', '2', '--json', '--log-format', 'json'])
    expect(await exitWithin(probe, 15_000)).toEqual({ code: 0, signal: null })
    const report = JSON.parse(probe.stdout()) as { aliveUpToS: number, deadFromS: number | null, probes: Array<{ idleS: number, outcome: string }>, findings: Array<{ id: string }> }
    expect(report).toMatchObject({ aliveUpToS: 2, deadFromS: null, maxS: 2, heartbeatIntervalS: 1 })
    expect(report.probes.map((p) => [p.idleS, p.outcome])).toEqual([[1, 'alive'], [2, 'alive']])
    expect(report.findings[0]?.id).toBe('nat.timeout-above-max')
    expect(probe.logs.filter((l) => l.msg === 'probe result')).toHaveLength(2)
    // Probes logged in without taking over the client's session or registering anything.
    expect(relay.handle.logs.filter((l) => l.msg === 'client logged in')).toHaveLength(1)
    expect(client.handle.logs.some((l) => l.msg === 'reconnecting')).toBe(false)
    expect(await echoOnce(remotePort)).toBe(true)
  })

  it('runs two probes of one client at once: each run has its own probe ids (a dead run\'s probes linger on the relay)', async () => {
    const relay = await startRelay()
    const configPath = (await startClient(clientYaml({ serverPort: relay.port, proxies: [] }), { waitFor: 'login' })).configPath
    const runs = [1, 2].map(() => spawnCli(['diag', 'nat-timeout', '-c', configPath, '--idle', '2', '--json', '--log-format', 'json']))
    for (const run of runs) {
      expect(await exitWithin(run, 15_000)).toEqual({ code: 0, signal: null })
      const report = JSON.parse(run.stdout()) as { probes: Array<{ idleS: number, outcome: string, detail?: string }> }
      expect(report.probes).toEqual([expect.objectContaining({ idleS: 2, outcome: 'alive' })])
    }
  })

  it('prints the human table, and refuses bad flags and a missing relay with clear errors', async () => {
    const relay = await startRelay()
    const configPath = (await startClient(clientYaml({ serverPort: relay.port, proxies: [] }), { waitFor: 'login' })).configPath
    const human = spawnCli(['diag', 'nat-timeout', '-c', configPath, '--idle', '1', '--log-format', 'json'])
    expect(await exitWithin(human, 10_000)).toEqual({ code: 0, signal: null })
    expect(human.stdout()).toMatch(/idle\s+1 s\s+mapping alive/)
    expect(human.stdout()).toContain('timeout: above 1 s')

    const bad = spawnCli(['diag', 'nat-timeout', '-c', configPath, '--idle', '0'])
    expect(await exitWithin(bad, 10_000)).toEqual({ code: 2, signal: null })
    expect(bad.stderr()).toContain('idle time 0')
    const badMax = spawnCli(['diag', 'nat-timeout', '-c', configPath, '--max', '100000'])
    expect(await exitWithin(badMax, 10_000)).toEqual({ code: 2, signal: null })
    expect(badMax.stderr()).toContain('--max 100000')

    const nowhere = await getFreePort()
    const down = await writeTempFile('frpc-down.yml', clientYaml({ serverPort: nowhere, proxies: [] }))
    const failed = spawnCli(['diag', 'nat-timeout', '-c', down, '--idle', '1', '--log-format', 'json'])
    expect(await exitWithin(failed, 15_000)).toEqual({ code: 1, signal: null })
    expect(failed.stdout()).toContain('no probe completed')
    expect(failed.logs.find((l) => l.msg === 'probe result')?.detail).toMatch(/TUN_CONNECT/)
  })

  it('stops with exit 2 at once when the token is wrong', async () => {
    const relay = await startRelay()
    const wrong = await writeTempFile('frpc-wrong.yml', clientYaml({ serverPort: relay.port, token: 'wrong-token', proxies: [] }))
    const probe = spawnCli(['diag', 'nat-timeout', '-c', wrong, '--idle', '5'])
    expect(await exitWithin(probe, 10_000)).toEqual({ code: 2, signal: null })
    expect(probe.stderr()).toContain('TUN_AUTH_REFUSED')
    expect(relay.handle.logs.some(logMsg('client logged in'))).toBe(false)
  })
})
