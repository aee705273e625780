// Issue 3 on the wire, with the real CLI: a tee proxy between client and relay sees neither the
// token nor any tunnelled byte (unless insecurePlaintext is on), a replay of the captured client
// stream is refused without disturbing the live client, and one bit flipped in a record — at
// ten different places — ends the session with TUN_RECORD_AUTH every time, after which the
// client reconnects.
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { newKeyPair } from '../../shared/transport/keys.js'
import { cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, logMsg, startClient, startRelay, type CliHandle } from '../helpers/cli.js'
import { closeServices, connectTo, echoOnce, readAll, startEchoServer } from '../helpers/services.js'
import { startTamperProxy, type FlipPlace, type TamperProxy } from '../helpers/tamper-proxy.js'

const proxies: TamperProxy[] = []
afterEach(async () => {
  await cleanupCli()
  await closeServices()
  for (const p of proxies.splice(0)) await p.close()
})

const TOKEN = `secret-token-${randomBytes(8).toString('hex')}`

async function pinnedSetup (options: { plaintext?: boolean, clientExtra?: string } = {}): Promise<{ relay: Awaited<ReturnType<typeof startRelay>>, tee: TamperProxy, echo: Awaited<ReturnType<typeof startEchoServer>>, yaml: string }> {
  const keys = newKeyPair()
  const plain = options.plaintext === true ? '  insecurePlaintext: true\n' : ''
  const relay = await startRelay({ token: TOKEN, extraYaml: `  privateKey: "${keys.privateKey}"\ntransport:\n  handshakeTimeout: 5\n${plain}` })
  const tee = await startTamperProxy(relay.port)
  proxies.push(tee)
  const echo = await startEchoServer()
  const yaml = clientYaml({
    serverPort: tee.port,
    token: TOKEN,
    extraYaml: `  serverKey: "${keys.publicKey}"\ntransport:\n  heartbeatInterval: 1\n  heartbeatTimeout: 10\n${plain}${options.clientExtra ?? ''}`,
    proxies: [{ name: 'echo', localPort: echo.port, remotePort: 0 }],
  })
  return { relay, tee, echo, yaml }
}

function count (haystack: Buffer, needle: string): number {
  let n = 0
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + 1)) n++
  return n
}

describe('the control connection on the wire', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('carries neither the token nor any tunnelled byte in clear; a replay of the client\'s bytes is refused and the live client stays up', async () => {
    const { relay, tee, yaml } = await pinnedSetup()
    const client = await startClient(yaml)
    const port = client.ports.get('echo') ?? 0
    const marker = `PAYLOAD-MARKER-${randomBytes(6).toString('hex')}`
    expect(await echoOnce(port, Buffer.from(marker.repeat(500)))).toBe(true)
    const { toRelay, toClient } = tee.captured()
    expect(toRelay.length + toClient.length).toBeGreaterThan(2 * marker.length * 500)
    for (const stream of [toRelay, toClient]) {
      expect(count(stream, TOKEN)).toBe(0)
      expect(count(stream, marker)).toBe(0)
      expect(count(stream, '"login"')).toBe(0) // control messages too
    }
    // The replay: the captured client→relay bytes, sent again on a new connection.
    const mark = relay.handle.logs.length
    const replayer = await connectTo(relay.port)
    const answer = readAll(replayer, { keep: true, timeoutMs: 5_000 })
    replayer.end(tee.toRelayOf(0))
    expect((await answer).data?.subarray(0, 6)).toEqual(Buffer.from([0x54, 0x55, 0x4e, 0x4c, 2, 4])) // TUNL, refuse, REPLAY
    await relay.handle.waitForLog((l) => l.msg === 'handshake refused' && l.code === 'TUN_REPLAY' && l.source === '127.0.0.1', 5_000, mark)
    expect(await echoOnce(port)).toBe(true)
    expect(relay.handle.logs.slice(mark).some((l) => l.msg === 'client session closed')).toBe(false)
    expect(client.handle.stderr()).not.toContain(TOKEN)
    expect(relay.handle.stderr()).not.toContain(TOKEN)
  })

  it('with transport.insecurePlaintext on both sides the same capture shows the payload (the check above can fail)', async () => {
    const { tee, yaml } = await pinnedSetup({ plaintext: true })
    const client = await startClient(yaml)
    const marker = `PAYLOAD-MARKER-${randomBytes(6).toString('hex')}`
    expect(await echoOnce(client.ports.get('echo') ?? 0, Buffer.from(marker))).toBe(true)
    expect(count(tee.captured().toRelay, marker)).toBe(1)
    expect(count(tee.captured().toRelay, TOKEN)).toBe(0) // the token is still only a PSK
    expect(client.handle.logs.some((l) => l.level === 40 && String(l.msg).includes('insecurePlaintext'))).toBe(true)
  })

  it('ends the session with TUN_RECORD_AUTH for a bit flipped at each of 10 places, and the client reconnects each time', async () => {
    const { relay, tee, yaml } = await pinnedSetup()
    const client = await startClient(yaml)
    const places: FlipPlace[] = ['length-high', 'length-low', 'first-ciphertext', 'middle-ciphertext', 'last-ciphertext',
      'first-tag', 'middle-tag', 'last-tag', 'middle-ciphertext', 'length-low']
    let clientMark = 0
    for (const [i, place] of places.entries()) {
      const relayMark = relay.handle.logs.length
      const port = await registeredPort(client.handle, clientMark)
      clientMark = client.handle.logs.length
      // Even rounds hit a bulk record (echo data), odd rounds whatever comes next (often a small control record).
      const flipped = tee.arm({ place, bit: (i * 3) % 8, minLength: i % 2 === 0 ? 4096 : 0 })
      // Echo traffic so records keep flowing from the client (a lengthened record completes).
      const visitor = await connectTo(port)
      const sent = randomBytes(512 * 1024)
      const echoed = readAll(visitor, { keep: true, timeoutMs: 15_000 })
      visitor.write(sent)
      const done = await flipped
      const line = await relay.handle.waitForLog((l) => l.code === 'TUN_RECORD_AUTH', 10_000, relayMark)
      expect(line.level, `${place}: ${JSON.stringify(done)}`).toBeGreaterThanOrEqual(30)
      visitor.destroy()
      const got = (await echoed).data ?? Buffer.alloc(0)
      // Nothing altered ever came out of the tunnel: what the visitor got back is a prefix of what it sent.
      expect(sent.subarray(0, got.length).equals(got)).toBe(true)
      await client.handle.waitForLog(logMsg('logged in'), 10_000, clientMark)
    }
    expect(tee.connections).toBe(places.length + 1)
    expect(await echoOnce(await registeredPort(client.handle, clientMark))).toBe(true)
    expect(client.handle.exited).toBe(false)
  })
})

async function registeredPort (handle: CliHandle, from: number): Promise<number> {
  const line = await handle.waitForLog((l) => l.msg === 'proxy registered' && l.proxy === 'echo', 10_000, from)
  return Number(line.remotePort)
}
