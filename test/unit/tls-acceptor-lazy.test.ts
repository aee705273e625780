// Issue 21 (idle memory): without certificate files the relay makes its self-signed certificate
// (an EC key, an X.509 certificate, an OpenSSL context) with its first TLS client, once, not at
// start; with trustedCaFile the CA file is still checked at start.
import { once } from 'node:events'
import { createServer, type Server } from 'node:net'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { ServerTlsConfig } from '../../shared/config/index.js'
import type { TunnelError } from '../../shared/errors.js'
import type * as SelfSignedModule from '../../server/transport/self-signed.js'

const made = vi.hoisted(() => ({ count: 0 }))
vi.mock('../../server/transport/self-signed.js', async (importOriginal) => {
  const original = await importOriginal<typeof SelfSignedModule>()
  return {
    ...original,
    selfSignedCertificate: (nowMs?: number) => { made.count++; return original.selfSignedCertificate(nowMs) },
  }
})
const { TlsAcceptor } = await import('../../server/transport/index.js')

const DEFAULT_TLS: ServerTlsConfig = { force: false, certFile: null, keyFile: null, trustedCaFile: null }
const servers: Server[] = []
const sockets: TLSSocket[] = []

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy()
  for (const s of servers.splice(0)) s.close()
})

/** One TLS client through a loopback server whose connections go to `acceptor`; resolves when both ends are secure. */
async function oneTlsClient (acceptor: InstanceType<typeof TlsAcceptor>): Promise<void> {
  const server = createServer()
  servers.push(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  const accepted = new Promise<void>((resolve, reject) => {
    server.once('connection', (socket) => {
      socket.on('error', () => {})
      acceptor.accept(socket, new AbortController().signal).then((tls) => { tls.on('error', () => {}); resolve() }, reject)
    })
  })
  const client = tlsConnect({ port: address.port, host: '127.0.0.1', rejectUnauthorized: false })
  sockets.push(client)
  client.on('error', () => {})
  await Promise.all([accepted, once(client, 'secureConnect')])
}

describe('the relay\'s self-signed TLS certificate', () => {
  it('is made with the first TLS client and reused for the next, not when the relay starts', async () => {
    made.count = 0
    const acceptor = new TlsAcceptor(DEFAULT_TLS)
    expect(acceptor.selfSigned).toBe(true)
    expect(made.count).toBe(0)
    await oneTlsClient(acceptor)
    expect(made.count).toBe(1)
    await oneTlsClient(acceptor)
    expect(made.count).toBe(1)
  })

  it('still refuses an unreadable trustedCaFile at start with TUN_CONFIG_INVALID', () => {
    let caught: unknown
    try {
      new TlsAcceptor({ ...DEFAULT_TLS, trustedCaFile: '/nonexistent/ca.pem' })
    } catch (err) {
      caught = err
    }
    expect((caught as TunnelError).code).toBe('TUN_CONFIG_INVALID')
  })
})
