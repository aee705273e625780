// The home client's own check of visits (client/proxy/secret-gate.ts): whatever the relay sends,
// only a visit proved with the key the relay never has reaches the service. The "relay" here is
// a bare mux session that opens any stream it likes toward a real ProxyManager.
import { afterEach, describe, expect, it } from 'vitest'
import { ControlRequests } from '../../client/control-requests.js'
import { ProxyManager } from '../../client/proxy/index.js'
import type { TunnelError } from '../../shared/errors.js'
import { silentLogger } from '../../shared/log.js'
import type { MuxStream } from '../../shared/mux/stream.js'
import { newVisitNonce, proveVisit, visitKeysFor } from '../../shared/visit/index.js'
import { type OpenHeader, type VisitBlock, VisitKind } from '../../shared/wire/index.js'
import { clientConfig } from '../helpers/in-process.js'
import { muxPair, type MuxPair } from '../helpers/mux-pair.js'
import { closeServices, startEchoServer } from '../helpers/services.js'

const SECRET = 'home-secret-of-twenty-chars'
let pair: MuxPair | undefined
afterEach(async () => {
  pair?.close()
  pair = undefined
  await closeServices()
})

async function home (): Promise<MuxPair> {
  const echo = await startEchoServer()
  const config = clientConfig(7000, [
    'proxies:',
    `  - { name: ssh, type: stcp, localPort: ${echo.port}, secretKey: ${SECRET}, allowUsers: [laptop] }`,
    `  - { name: web, type: tcp, localPort: ${echo.port} }`,
  ].join('\n'))
  const manager = new ProxyManager(config, silentLogger(), new ControlRequests(1_000))
  pair = await muxPair()
  manager.serve(pair.client, '127.0.0.1')
  return pair
}

function block (user: string, keys = visitKeysFor(Buffer.from(SECRET), 'ssh'), timestampMs = Date.now(), nonce = newVisitNonce()): VisitBlock {
  // As the relay forwards it: relayMac zeroed, the visitor's user filled in.
  const { homeMac } = proveVisit(keys, { kind: VisitKind.STCP, target: 'ssh', user, nonce, timestampMs })
  return { kind: VisitKind.STCP, nonce, timestampMs, relayMac: Buffer.alloc(32), homeMac, user }
}

/** Opens `open` from the "relay" side, sends a line, and resolves with the reply or the error. */
async function tryStream (p: MuxPair, open: OpenHeader): Promise<string | TunnelError> {
  const s: MuxStream = p.server.openStream(open)
  const parts: Buffer[] = []
  const closed = new Promise<TunnelError | undefined>((resolve) => {
    s.attach({ data (c) { parts.push(c); s.consume(c.length) }, end () {}, drain () {}, close (err) { resolve(err) } })
  })
  s.write(Buffer.from('ping'))
  s.end()
  const err = await closed
  return err ?? Buffer.concat(parts).toString('utf8')
}

const endpoints = { visitor: { address: '203.0.113.7', port: 5000 }, listener: { address: '127.0.0.1', port: 7000 } }

describe('the home client\'s check of visits', () => {
  it('lets a visit proved with the secret through to the service', async () => {
    const p = await home()
    expect(await tryStream(p, { proxy: 'ssh', ...endpoints, visit: block('laptop') })).toBe('ping')
  })

  it('refuses what a relay alone can make: no proof, a proof under the relay\'s key, a replayed one', async () => {
    const p = await home()
    const plain = await tryStream(p, { proxy: 'ssh', ...endpoints })
    expect((plain as TunnelError).code).toBe('TUN_VISIT_REFUSED')
    const keys = visitKeysFor(Buffer.from(SECRET), 'ssh')
    const forged = await tryStream(p, { proxy: 'ssh', ...endpoints, visit: block('laptop', { relayKey: keys.relayKey, homeKey: keys.relayKey }) })
    expect((forged as TunnelError).code).toBe('TUN_VISIT_REFUSED')
    const once = block('laptop')
    expect(await tryStream(p, { proxy: 'ssh', ...endpoints, visit: once })).toBe('ping')
    expect((await tryStream(p, { proxy: 'ssh', ...endpoints, visit: once }) as TunnelError).code).toBe('TUN_VISIT_REFUSED')
  })

  it('refuses a user outside allowUsers, a stale proof, and a visit block sent to a plain tcp proxy', async () => {
    const p = await home()
    expect((await tryStream(p, { proxy: 'ssh', ...endpoints, visit: block('eve') }) as TunnelError).code).toBe('TUN_VISIT_REFUSED')
    expect((await tryStream(p, { proxy: 'ssh', ...endpoints, visit: block('laptop', undefined, Date.now() - 60 * 60_000) }) as TunnelError).code).toBe('TUN_VISIT_REFUSED')
    expect((await tryStream(p, { proxy: 'web', ...endpoints, visit: block('laptop') }) as TunnelError).code).toBe('TUN_LOCAL_DIAL')
    expect(await tryStream(p, { proxy: 'web', ...endpoints })).toBe('ping')
  })
})
