// Every transport end to end in one process: a relay, a client over tcp, tls, websocket,
// websocket+tls (frp's websocket with TLS on), wss, and an echo through a tcp proxy of it.
import { afterEach, describe, expect, it } from 'vitest'
import { clientConfig, closeInProcess, startClientInProcess, startRelayInProcess } from '../helpers/in-process.js'
import { closeServices, connectTo, startEchoServer } from '../helpers/services.js'

afterEach(async () => {
  await closeInProcess()
  await closeServices()
})

/** Polls `ok` every 10 ms for at most 5 s (bounded); fails the test when it never holds. */
async function waitFor (ok: () => boolean, what: () => string = () => ""): Promise<void> {
  for (let i = 0; i < 500 && !ok(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  expect(ok(), what()).toBe(true)
}

async function echoThrough (port: number): Promise<string> {
  const socket = await connectTo(port)
  socket.end('ping over the tunnel')
  const chunks: Buffer[] = []
  for await (const c of socket) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString()
}

const CASES: Array<[string, string]> = [
  ['tcp', ''],
  ['tls', 'transport:\n  tls:\n    enable: true\n'],
  ['tls with frp\'s marker byte', 'transport:\n  tls:\n    enable: true\n    disableCustomTLSFirstByte: false\n'],
  ['websocket', 'transport:\n  protocol: websocket\n'],
  ['websocket+tls', 'transport:\n  protocol: websocket\n  tls:\n    enable: true\n'],
  ['wss', 'transport:\n  protocol: wss\n'],
]

describe('transports under the handshake, on one relay port', () => {
  for (const [name, yaml] of CASES) {
    it(`a client over ${name} logs in and carries a tcp proxy`, async () => {
      const { relay, port } = await startRelayInProcess()
      const listeners = relay.budgetStats.otherSockets
      const echo = await startEchoServer()
      const { client, results } = await startClientInProcess(clientConfig(port, `${yaml}proxies:\n  - name: echo\n    type: tcp\n    localPort: ${echo.port}\n    remotePort: 0\n`))
      const remotePort = results[0]?.remotePort ?? 0
      expect(remotePort).toBeGreaterThan(0)
      expect(await echoThrough(remotePort)).toBe('ping over the tunnel')
      expect(client.carrier?.transport).toBe(name.split(' ')[0])
      // The control connection's socket is released when the session ends, whatever rode on it.
      client.close(0)
      await waitFor(() => relay.sessionCount === 0 && relay.budgetStats.otherSockets === listeners, () => JSON.stringify([listeners, relay.sessionCount, relay.budgetStats.otherSockets]))
    })
  }
})
