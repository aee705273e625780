import { afterEach, describe, expect, it } from 'vitest'
import { closeInProcess, startRelayInProcess } from '../helpers/in-process.js'
import { cleanupCli, spawnCli, writeTempFile } from '../helpers/cli.js'

afterEach(async () => {
  await cleanupCli()
  await closeInProcess()
})

/** Attempts at a relay whose STUN ports bind: UDP on the TCP port it got, which another process may hold. */
const STUN_START_ATTEMPTS = 5

/** An in-process relay whose STUN server runs (UDP on its bindPort), retried when that UDP port was taken. */
async function relayWithStun (): ReturnType<typeof startRelayInProcess> {
  for (let attempt = 1; attempt < STUN_START_ATTEMPTS; attempt++) {
    const started = await startRelayInProcess()
    if (started.relay.stunPorts !== undefined) return started
    await started.relay.close(0)
  }
  return await startRelayInProcess()
}

describe('tunnel diag nat', () => {
  it('asks the relay\'s STUN server (UDP on its bindPort) and reports the mapping, filtering and port preservation, as JSON and text', async () => {
    const { relay, port } = await relayWithStun()
    expect(relay.stunPorts?.port).toBe(port)
    const frpc = await writeTempFile('frpc.yml', `serverAddr: 127.0.0.1\nserverPort: ${port}\nauth:\n  token: x\n`)
    const json = spawnCli(['diag', 'nat', '-c', frpc, '--json'])
    expect((await json.exit).code).toBe(0)
    const d = JSON.parse(json.stdout()) as { nat: { mapping: string, filtering: string, portPreserved: boolean, mapped: { host: string } }, advice: string, pair: null }
    // Loopback is one of this machine's own addresses: no NAT in between.
    expect(d.nat).toMatchObject({ mapping: 'none', filtering: 'address-dependent', portPreserved: true, mapped: { host: '127.0.0.1' } })
    expect(d.advice).toContain('no NAT')
    const peer = await writeTempFile('peer.json', JSON.stringify({ nat: { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent' } }))
    const text = spawnCli(['diag', 'nat', '--stun', `127.0.0.1:${port}`, '--peer', peer])
    expect((await text.exit).code).toBe(0)
    expect(text.stdout()).toContain('mapping          none')
    expect(text.stdout()).toContain('direct path      yes (direct)')
    expect(relay.stun.stats.answers).toBeGreaterThanOrEqual(6)
  })

  it('exits 1 with TUN_STUN_UNREACHABLE when no STUN server answers, and 2 without a server to ask', async () => {
    const { port } = await startRelayInProcess('stunBindPort: 0\n')
    const none = spawnCli(['diag', 'nat', '--stun', `127.0.0.1:${port}`])
    expect((await none.exit).code).toBe(1)
    expect(none.stderr()).toContain('TUN_STUN_UNREACHABLE')
    const usage = spawnCli(['diag', 'nat'])
    expect((await usage.exit).code).toBe(2)
  })
})
