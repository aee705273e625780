// Relay and Client in-process over loopback (no CLI): the clock check end to end with an injected
// relay clock, and the deadline for a connection that never finishes its handshake.
import { connect } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Client } from '../../client/index.js'
import { Relay } from '../../server/index.js'
import { parseClientConfig, parseServerConfig } from '../../shared/config/index.js'
import { TunnelError } from '../../shared/errors.js'
import { silentLogger } from '../../shared/log.js'
import { newKeyPair } from '../../shared/transport/keys.js'

const keys = newKeyPair()
const relays: Relay[] = []
afterEach(() => { for (const r of relays.splice(0)) r.destroy() })

async function relay (now?: () => number, extra = ''): Promise<{ relay: Relay, port: number }> {
  const config = parseServerConfig(`bindAddr: 127.0.0.1\nbindPort: 0\nauth:\n  token: t\n  privateKey: "${keys.privateKey}"\n${extra}`, 'frps.yml', {}).config
  const r = new Relay(config, silentLogger(), now === undefined ? {} : { now })
  relays.push(r)
  return { relay: r, port: (await r.start()).port }
}

function client (port: number): Client {
  const config = parseClientConfig(`serverAddr: 127.0.0.1\nserverPort: ${port}\nauth:\n  token: t\n  serverKey: "${keys.publicKey}"\nproxies: [{ name: a, type: tcp, localPort: 1 }]\n`, 'frpc.yml', {}).config
  return new Client(config, silentLogger(), { backoff: { baseMs: 10, capMs: 50, fastRetries: 0 } })
}

describe('secure session, in-process', () => {
  it('a client whose clock is 2 minutes behind the relay stops with TUN_CLOCK_SKEW saying by how much', async () => {
    const { port } = await relay(() => Date.now() + 120_000)
    const c = client(port)
    const err = await c.run().then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(TunnelError)
    expect((err as TunnelError).code).toBe('TUN_CLOCK_SKEW')
    expect((err as TunnelError).message).toMatch(/clock is 120 s behind the relay's/)
  })

  it('the same clock inside the window logs in, and both sides show the same session id', async () => {
    const { relay: r, port } = await relay(() => Date.now() + 30_000)
    const c = client(port)
    const loggedIn = new Promise<string>((resolve) => c.once('login', resolve))
    const running = c.run()
    const id = await loggedIn
    expect(id).toMatch(/^[0-9a-f]{16}$/)
    expect(r.sessionCount).toBe(1)
    c.close(0)
    await running
  })

  it('a connection that never completes the hello is closed at the handshake deadline, and not a millisecond before', async () => {
    const { relay: r, port } = await relay(undefined, 'transport:\n  handshakeTimeout: 1\n')
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      const socket = connect({ host: '127.0.0.1', port })
      socket.on('error', () => {})
      let closed = false
      const gone = new Promise((resolve) => socket.once('close', () => { closed = true; resolve(undefined) }))
      socket.write('TUN')
      // The relay took the connection (real I/O; the fake clock has not moved).
      for (let i = 0; i < 100_000 && r.pendingHandshakes === 0; i++) await new Promise((resolve) => setImmediate(resolve))
      expect(r.pendingHandshakes).toBe(1)
      await vi.advanceTimersByTimeAsync(999)
      expect(r.pendingHandshakes).toBe(1)
      expect(closed).toBe(false)
      await vi.advanceTimersByTimeAsync(1)
      await gone
      expect(r.pendingHandshakes).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })
})
