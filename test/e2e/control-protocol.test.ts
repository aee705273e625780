// The control plane against real processes. A raw client (built from the project's own modules)
// that sends an unknown message type, a message with a missing field or a field of the wrong
// type, or a 1 MiB string field loses only its own session, with one logged protocol error that
// names the type; the relay keeps serving a real client's proxy all along. A client whose
// control protocol version the relay does not speak is refused in the handshake: both sides say
// which versions, and the client exits 2 instead of retrying.
import { afterEach, describe, expect, it } from 'vitest'
import { ALL_CAPABILITIES, MessageType } from '../../shared/wire/control.js'
import { cleanupCli, clientYaml, E2E_TEST_TIMEOUT_MS, logMsg, startClient, startRelay, TEST_TOKEN, exitWithin } from '../helpers/cli.js'
import { closeInProcess, IN_PROCESS_TOKEN, memoryLogger, rawControl, startRelayInProcess } from '../helpers/in-process.js'
import { closeServices, echoOnce, startEchoServer } from '../helpers/services.js'

afterEach(async () => {
  await cleanupCli()
  await closeInProcess()
  await closeServices()
})

describe('control protocol', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('ends only the session of a raw client that sends a bad control message, and logs the type at fault', async () => {
    const echo = await startEchoServer()
    const relay = await startRelay()
    const client = await startClient(clientYaml({ serverPort: relay.port, proxies: [{ name: 'svc', localPort: echo.port, remotePort: 0 }] }))
    const svcPort = client.ports.get('svc') ?? 0
    expect(await echoOnce(svcPort)).toBe(true)

    const cases: Array<{ message: unknown, code: string, messageType: string }> = [
      { message: { type: 'frobnicate', name: 'x' }, code: 'TUN_PROTOCOL', messageType: 'frobnicate' },
      { message: { type: MessageType.UNREGISTER }, code: 'TUN_PROTOCOL', messageType: 'unregister' },
      { message: { type: MessageType.REGISTER, proxies: 'all of them' }, code: 'TUN_PROTOCOL', messageType: 'register' },
      { message: { type: MessageType.DIAG_REQUEST, id: 'seven' }, code: 'TUN_PROTOCOL', messageType: 'diagRequest' },
      { message: { type: MessageType.REGISTER, proxies: [{ name: 'x'.repeat(1 << 20), type: 'tcp', remotePort: 0 }] }, code: 'TUN_FRAME_TOO_LARGE', messageType: 'CONTROL frame' },
    ]
    for (const [i, c] of cases.entries()) {
      const raw = await rawControl(relay.port, `raw-${i}`, ALL_CAPABILITIES, TEST_TOKEN)
      const from = relay.handle.logs.length
      raw.send(c.message)
      const err = await raw.closed
      expect(err, JSON.stringify(c.message).slice(0, 60)).toBeDefined()
      const line = await relay.handle.waitForLog(logMsg('closing session: peer broke the protocol', { clientId: `raw-${i}` }), undefined, from)
      expect(line).toMatchObject({ code: c.code, messageType: c.messageType })
      // The real client's proxy is untouched, and it never had to reconnect.
      expect(await echoOnce(svcPort)).toBe(true)
    }
    expect(client.handle.logs.some((l) => l.msg === 'lost the relay: reconnecting')).toBe(false)
  })

  it('refuses a client whose control protocol version the relay does not speak: both sides name the versions, the client exits 2', async () => {
    const { log, lines } = memoryLogger()
    const { port } = await startRelayInProcess('', log, 0, { controlVersions: [99] })
    const client = await startClient(clientYaml({ serverPort: port, token: IN_PROCESS_TOKEN, proxies: [{ name: 'svc', localPort: 9, remotePort: 0 }] }), { waitFor: 'none' })
    const exit = await exitWithin(client.handle, 20_000)
    expect(exit).not.toBe('timeout')
    expect(exit === 'timeout' ? undefined : exit.code).toBe(2)
    expect(client.handle.stderr()).toMatch(/the relay speaks control protocol 99, this client 2: upgrade the older side.*TUN_PROTOCOL_VERSION/s)
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'handshake refused', code: 'TUN_PROTOCOL_VERSION', detail: 'the client speaks control protocol 2, this relay 99: upgrade the older side' }))
  })
})
