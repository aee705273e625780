// Issue 18's acceptance: frp's own configs with transport.protocol = "websocket" (its e2e suite's,
// test/fixtures/frp-websocket/) pass `tunnel verify` and run: a tunnel relay from frp's frps.toml,
// a client from each frpc.toml, its tcp and udp proxies echoing through the WebSocket.
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, E2E_TEST_TIMEOUT_MS, exitWithin, logMsg, spawnCli, waitForProxyResult } from '../helpers/cli.js'
import { closeServices, connectTo, getFreePort, readAll, startEchoServer } from '../helpers/services.js'
import { closeUdp, freeUdpPort, startUdpEcho, udpVisitor } from '../helpers/udp.js'

const DIR = fileURLToPath(new URL('../fixtures/frp-websocket/', import.meta.url))
const CLIENTS = ['frpc-websocket.toml', 'frpc-tls-disabled.toml', 'frpc-tls-first-byte.toml']

afterEach(async () => {
  await cleanupCli()
  await closeServices()
  await closeUdp()
})

async function ports (): Promise<NodeJS.ProcessEnv> {
  const tcp = await startEchoServer()
  const udp = await startUdpEcho()
  return {
    FRP_SERVER_PORT: String(await getFreePort()),
    FRP_TCP_ECHO_PORT: String(tcp.port),
    FRP_TCP_REMOTE_PORT: String(await getFreePort()),
    FRP_UDP_ECHO_PORT: String(udp.port),
    FRP_UDP_REMOTE_PORT: String(await freeUdpPort()),
  }
}

describe('frp\'s websocket configs', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  for (const file of CLIENTS) {
    it(`${file} passes tunnel verify and carries frp's tcp and udp proxies over a WebSocket`, async () => {
      const env = await ports()
      for (const f of ['frps.toml', file]) {
        const verify = spawnCli(['verify', '-c', `${DIR}${f}`], { env })
        expect(await exitWithin(verify, 15_000), verify.stderr()).toMatchObject({ code: 0 })
      }
      const relay = spawnCli(['server', '-c', `${DIR}frps.toml`, '--log-format', 'json'], { env })
      await relay.waitForLog(logMsg('relay listening'))
      const client = spawnCli(['client', '-c', `${DIR}${file}`, '--log-format', 'json'], { env })
      const login = await client.waitForLog(logMsg('logged in'))
      expect(login.transport).toBe('websocket')
      expect(await waitForProxyResult(client, 'tcp')).toMatchObject({ ok: true, remotePort: Number(env.FRP_TCP_REMOTE_PORT) })
      expect(await waitForProxyResult(client, 'udp')).toMatchObject({ ok: true, remotePort: Number(env.FRP_UDP_REMOTE_PORT) })
      const socket = await connectTo(Number(env.FRP_TCP_REMOTE_PORT))
      socket.end('frp over a websocket')
      expect((await readAll(socket, { keep: true, timeoutMs: 10_000 })).data?.toString()).toBe('frp over a websocket')
      const visitor = await udpVisitor(Number(env.FRP_UDP_REMOTE_PORT))
      visitor.send('a datagram')
      await visitor.waitFor(1)
      expect(visitor.received[0]?.toString()).toBe('a datagram')
      visitor.close()
    })
  }
})
