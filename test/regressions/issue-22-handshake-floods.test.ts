// Issue 22, findings 1 and 8, against a relay in this process with raw hostile clients:
// - 70 networks each holding a handshake slot with a hello that never finishes, reconnecting as
//   soon as the relay drops them, did keep real clients out (0 of 12 logins): now every one of 12
//   real logins gets in, and the attackers' slots are what gets dropped;
// - a wrong-token hello with a valid-looking header cost about 1 ms of DH each: now it fails mac1
//   (one HMAC) and no DH is done at all; hellos with the token are bounded by the DH budget.
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../shared/transport/noise.js'
import { ClientHandshake } from '../../shared/transport/handshake-client.js'
import { parseResponse, Refusal } from '../../shared/transport/handshake.js'
import { derivePsk } from '../../shared/transport/keys.js'
import { clientConfig, closeInProcess, IN_PROCESS_TOKEN, startClientInProcess, startRelayInProcess } from '../helpers/in-process.js'
import { closeServices, startEchoServer } from '../helpers/services.js'

const sockets: Socket[] = []
const servers: Server[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  for (const s of servers.splice(0)) s.close()
  await closeInProcess()
  await closeServices()
})

/** A hello prefix that never completes: the relay holds an unproven slot for it. */
const PARTIAL_HELLO = Buffer.from('TUNL\x02\x01\x00\x00\x00\x00\x08slow', 'latin1')

function occupy (port: number, network: number, stop: { done: boolean }): void {
  if (stop.done) return
  const socket = connect({ host: '127.0.0.1', port, localAddress: `127.${network}.0.1` })
  sockets.push(socket)
  socket.on('error', () => {})
  socket.once('connect', () => { socket.write(PARTIAL_HELLO) })
  // Dropped to make room: come right back, as the attack did.
  socket.once('close', () => { setImmediate(() => { occupy(port, network, stop) }) })
}

/** A proxy to the relay that delivers every client→relay chunk `ms` late (a long path). */
async function delayProxy (relayPort: number, ms: number): Promise<number> {
  const server = createServer((client) => {
    sockets.push(client)
    const relay = connect({ host: '127.0.0.1', port: relayPort })
    sockets.push(relay)
    client.on('error', () => {})
    relay.on('error', () => {})
    client.on('data', (d: Buffer) => { setTimeout(() => { relay.write(d) }, ms) })
    relay.on('data', (d: Buffer) => { client.write(d) })
    client.once('close', () => { relay.destroy() })
    relay.once('close', () => { client.destroy() })
  })
  servers.push(server)
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  return (server.address() as AddressInfo).port
}

/** Sends one complete hello and reads the relay's answer kind (or 'closed'). */
async function helloOnce (port: number, token: string, from: string): Promise<number | 'closed'> {
  const c = new ClientHandshake({ clientId: 'flood', clientKey: generateKeyPair(), psk: derivePsk(token), serverKey: undefined, plaintext: false, nowMs: Date.now() })
  return await new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress: from })
    sockets.push(socket)
    let buf = Buffer.alloc(0)
    socket.on('error', () => {})
    socket.once('connect', () => { socket.write(c.hello) })
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      const r = parseResponse(buf)
      if (r === undefined) return
      socket.destroy()
      resolve(r.response.kind === 'refuse' ? r.response.code : Refusal.OK)
    })
    socket.once('close', () => { resolve('closed') })
  })
}

describe('issue 22: handshake floods', () => {
  it('lets 12 of 12 real logins in while 70 networks keep a slot each and come straight back when dropped', async () => {
    const echo = await startEchoServer()
    const { relay, port } = await startRelayInProcess('', undefined, 0, { gate: { maxPending: 32, maxPerSource: 8 } })
    const stop = { done: false }
    for (let n = 1; n <= 70; n++) occupy(port, n, stop)
    await expect.poll(() => relay.pendingHandshakes).toBe(32) // the table is full of attackers
    // Real clients far away: everything they send reaches the relay 80 ms late, so each proven
    // handshake waits that long for its login while the attackers keep coming back.
    const far = await delayProxy(port, 80)
    let logins = 0
    for (let i = 0; i < 12; i++) {
      const c = await startClientInProcess(clientConfig(far, `clientID: real-${i}\nproxies:\n  - name: p${i}\n    type: tcp\n    localPort: ${echo.port}\n    remotePort: 0\n`))
      if (c.client.session?.closed === false) logins++
    }
    stop.done = true
    expect(logins).toBe(12)
    expect(relay.handshakeStats.evicted).toBeGreaterThan(0) // attackers were dropped, not real clients
  })

  it('does no Diffie-Hellman for wrong-token hellos, and bounds the DH work of hellos with the token by the budget', async () => {
    let now = 0
    const { relay, port } = await startRelayInProcess('', undefined, 0, { dh: { perSecond: 5, burst: 5, reservePerSecond: 0, now: () => now }, gate: { maxPerSource: 1000, maxPending: 1000, ratePerSecond: 1e6, burst: 1e6 } })
    const wrong = await Promise.all(Array.from({ length: 100 }, async (_, i) => await helloOnce(port, 'not-the-token', `127.0.${i % 200}.9`)))
    expect(wrong.every((r) => r === Refusal.AUTH)).toBe(true)
    expect(relay.handshakeStats.dhAdmitted).toBe(0)
    const right = await Promise.all(Array.from({ length: 20 }, async (_, i) => await helloOnce(port, IN_PROCESS_TOKEN, `127.1.${i}.9`)))
    expect(right.filter((r) => r === Refusal.OK)).toHaveLength(5)
    expect(right.filter((r) => r === Refusal.BUSY)).toHaveLength(15)
    expect(relay.handshakeStats).toMatchObject({ dhAdmitted: 5, dhRefused: 15 })
    now = 1_000 // a second later, the budget has 5 more
    const later = await Promise.all(Array.from({ length: 10 }, async (_, i) => await helloOnce(port, IN_PROCESS_TOKEN, `127.2.${i}.9`)))
    expect(later.filter((r) => r === Refusal.OK)).toHaveLength(5)
  })
})
