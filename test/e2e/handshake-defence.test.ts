// Issue 3 at the door, with the real CLI: `tunnel keygen` keys work end to end and a private key
// file readable by others is refused; a pinned client refuses a relay with another key (a man
// in the middle) with exit 2 and a clear line; 200 sockets trickling bytes at the control port
// neither keep a real client out nor outlive the handshake deadline.
import { chmod, stat } from 'node:fs/promises'
import { join, dirname } from 'node:path'
import { connect, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { newKeyPair } from '../../shared/transport/keys.js'
import { cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, exitWithin, logMsg, pollUntil, spawnCli, startClient, startRelay, writeTempFile } from '../helpers/cli.js'
import { closeServices, echoOnce, startEchoServer } from '../helpers/services.js'

const trickling: Socket[] = []
afterEach(async () => {
  for (const s of trickling.splice(0)) s.destroy()
  await cleanupCli()
  await closeServices()
})

describe('handshake defences', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('keygen writes a 0600 key file the relay uses, prints the serverKey line a client pins, and a group-readable key file is refused', async () => {
    const dir = dirname(await writeTempFile('placeholder', ''))
    const keyFile = join(dir, 'relay.key')
    const keygen = spawnCli(['keygen', '--private-key-file', keyFile])
    expect(await exitWithin(keygen, 10_000)).toEqual({ code: 0, signal: null })
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600)
    const serverKey = /serverKey: "([A-Za-z0-9+/]{43}=)"/.exec(keygen.stdout())?.[1]
    expect(serverKey).toBeDefined()
    expect(keygen.stdout()).not.toContain('privateKey:')
    const echo = await startEchoServer()
    const relay = await startRelay({ extraYaml: `  privateKeyFile: ${JSON.stringify(keyFile)}` })
    const client = await startClient(clientYaml({ serverPort: relay.port, extraYaml: `  serverKey: "${serverKey ?? ''}"`, proxies: [{ name: 'echo', localPort: echo.port, remotePort: 0 }] }))
    expect(await echoOnce(client.ports.get('echo') ?? 0)).toBe(true)
    const pinned = await client.handle.waitForLog(logMsg('relay key pinned'))
    expect((await relay.handle.waitForLog(logMsg('relay listening'))).keyId).toBe(pinned.keyId)

    await chmod(keyFile, 0o640)
    const refused = spawnCli(['server', '-c', relay.configPath])
    expect(await exitWithin(refused, 10_000)).toEqual({ code: 2, signal: null })
    expect(refused.stderr()).toMatch(/auth\.privateKeyFile: .*relay\.key is readable or writable by group or others \(mode 0640\); run: chmod 600/)
    expect(refused.stderr()).toContain('TUN_CONFIG_INVALID')
  })

  it('a pinned client refuses a relay holding another key (a man in the middle): exit 2 with one clear line', async () => {
    const real = newKeyPair()
    const impostor = newKeyPair()
    const mitm = await startRelay({ extraYaml: `  privateKey: "${impostor.privateKey}"` })
    const client = await startClient(clientYaml({ serverPort: mitm.port, extraYaml: `  serverKey: "${real.publicKey}"`, proxies: [{ name: 'x', localPort: 1, remotePort: 0 }] }), { waitFor: 'none' })
    expect(await exitWithin(client.handle, 10_000)).toEqual({ code: 2, signal: null })
    const lines = client.handle.stderr().split('\n').filter((l) => l.startsWith('tunnel: '))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/tunnel: the relay's key \(id [0-9a-f]{8}\) is not the one pinned in auth\.serverKey \(id [0-9a-f]{8}\).*someone is in the middle \(TUN_SERVER_KEY_MISMATCH\)/)
    await mitm.handle.waitForLog((l) => l.msg === 'handshake refused' && l.code === 'TUN_SERVER_KEY_MISMATCH' && l.source === '127.0.0.1', 5_000)
    expect(mitm.handle.logs.some((l) => l.msg === 'client logged in')).toBe(false)
    for (const secret of [real.privateKey, impostor.privateKey]) {
      expect(mitm.handle.stderr()).not.toContain(secret)
      expect(client.handle.stderr()).not.toContain(secret)
    }
  })

  it('200 sockets trickling a byte a second do not keep a real client out, and are all closed by the handshake deadline', async () => {
    const DEADLINE_S = 2
    const keys = newKeyPair()
    const relay = await startRelay({ extraYaml: `  privateKey: "${keys.privateKey}"\ntransport:\n  handshakeTimeout: ${DEADLINE_S}` })
    // A valid hello prefix ("TUNL", version 2, flags, ...), one byte at a time, from 25 loopback
    // networks (127.1-25.0.1: the relay counts an IPv4 /24 as one source), 8 each: the per-source
    // cap is full everywhere and the global table (64) is overrun.
    const prefix = Buffer.from('TUNL\x02\x01\x00\x00\x00\x00\x08slowlori', 'latin1')
    const closedAfter: number[] = []
    /** Bytes of the prefix each socket had sent when the relay closed it. */
    const sentAtClose: number[] = []
    await Promise.all(Array.from({ length: 200 }, async (_, i) => {
      const socket = connect({ host: '127.0.0.1', port: relay.port, localAddress: `127.${1 + (i % 25)}.0.1` })
      trickling.push(socket)
      socket.on('error', () => {})
      await new Promise((resolve) => socket.once('connect', resolve))
      const opened = performance.now()
      let sent = 0
      const timer = setInterval(() => { if (sent < prefix.length) socket.write(prefix.subarray(sent, ++sent)) }, 1_000)
      socket.write(prefix.subarray(0, ++sent))
      socket.once('close', () => { clearInterval(timer); closedAfter.push(performance.now() - opened); sentAtClose.push(sent) })
    }))
    const echo = await startEchoServer()
    const t0 = performance.now()
    const client = await startClient(clientYaml({ serverPort: relay.port, proxies: [{ name: 'echo', localPort: echo.port, remotePort: 0 }] }), { waitFor: 'login' })
    const loginMs = performance.now() - t0
    // Not kept out: its first handshake was admitted. A refusal would show as a retry on the
    // client and a refused handshake from 127.0.0.1 on the relay, whenever the client came (on a
    // slow machine it may come after the deadline; that can only make this pass, never flake).
    expect(client.handle.logs.filter(logMsg('cannot reach the relay'))).toEqual([])
    expect(client.handle.logs.filter(logMsg('reconnecting'))).toEqual([])
    const refused = (l: { msg?: unknown }): boolean => l.msg === 'handshake refused' || l.msg === 'handshake dropped to make room'
    expect(relay.handle.logs.filter((l) => refused(l) && l.source === '127.0.0.1')).toEqual([])
    // Every trickling socket is closed by the relay long before it could finish its hello (one
    // byte a second): by the deadline, however late the machine runs its timers. The wait is a
    // generous "finished at all" bound.
    await pollUntil(async () => await Promise.resolve(closedAfter.length === 200 ? true : undefined), { timeoutMs: 15_000, intervalMs: 100 })
    expect(closedAfter).toHaveLength(200)
    expect(Math.max(...sentAtClose)).toBeLessThan(prefix.length)
    // The relay said so, rate-limited (far fewer lines than sockets), with the source address.
    const refusals = relay.handle.logs.filter(refused)
    expect(refusals.length).toBeGreaterThan(0)
    expect(refusals.length).toBeLessThan(200)
    expect(refusals.every((l) => typeof l.source === 'string' && /^127\.([1-9]|1\d|2[0-5])\.0\.1$/.test(String(l.source)))).toBe(true)
    expect(client.handle.exited).toBe(false)
    console.log(`slowloris: real client logged in ${Math.round(loginMs)} ms after spawn; slow sockets closed after ≤ ${Math.round(Math.max(...closedAfter))} ms`)
  })
})
