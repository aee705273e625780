// frp asks its relay plugins (NewUserConn) about every user connection of an https proxy too. The
// https vhost asks the route's `admit` after SNI routing and the proxy's source rules: a rejection
// resets the visitor before any byte reaches the client; an admission passes the hello and
// everything after it (sent while the plugin was asked) through untouched.
import { connect as tlsConnect } from 'node:tls'
import { afterEach, describe, expect, it } from 'vitest'
import { TcpForwarder } from '../../client/tcp-forwarder.js'
import { Vhosts } from '../../server/vhost/vhosts.js'
import { silentLogger } from '../../shared/log.js'
import { ResetCode } from '../../shared/wire/frame.js'
import type { HttpsProxySpec } from '../../shared/wire/proxy-spec.js'
import type { TcpProxyConfig } from '../../shared/config/types.js'
import { closeHttp, secureExampleCert, startHttpsService } from '../helpers/http.js'
import { muxPair, type MuxPair } from '../helpers/mux-pair.js'

const log = silentLogger()
const cert = secureExampleCert()
const beds: Array<{ pair: MuxPair, vhosts: Vhosts }> = []

afterEach(async () => {
  for (const b of beds.splice(0)) { b.vhosts.destroy(); b.pair.close() }
  await closeHttp()
})

const tcpTarget = (localPort: number): TcpProxyConfig => ({ name: 's', type: 'tcp', localIP: '127.0.0.1', localPort, remotePort: 0, allowSources: [], denySources: [], proxyProtocolVersion: null, maxVisitors: 0, bandwidthLimit: 0, bandwidthLimitMode: 'client' })

/** An https proxy to a real TLS service whose visitors `decide` admits (slowly: the plugin's answer takes a while). */
async function bed (decide: (visitor: { address: string, port: number }) => boolean): Promise<{ port: number, asked: Array<{ address: string, port: number }>, streams: () => number, vhosts: Vhosts }> {
  const pair = await muxPair()
  const vhosts = new Vhosts({ host: '127.0.0.1', httpPort: 0, httpsPort: 0, subDomainHost: 'example.test', responseHeaderTimeoutMs: 10_000, custom404Page: null }, log)
  await vhosts.start()
  beds.push({ pair, vhosts })
  const svc = await startHttpsService('secure', cert)
  const forwarder = new TcpForwarder(tcpTarget(svc.port), log)
  let streams = 0
  pair.client.on('stream', (s) => {
    streams++
    if (s.open?.proxy === 's') forwarder.handle(s)
    else s.reset(ResetCode.REFUSED)
  })
  const asked: Array<{ address: string, port: number }> = []
  const spec: HttpsProxySpec = { name: 's', type: 'https', customDomains: ['secure.example.test'] }
  vhosts.open(spec, pair.server, log, 'the-client', async (visitor) => {
    asked.push(visitor)
    await new Promise((resolve) => setTimeout(resolve, 50))
    return decide(visitor)
  })
  return { port: vhosts.httpsPort ?? 0, asked, streams: () => streams, vhosts }
}

/** A TLS handshake with SNI secure.example.test: the certificate's CN, or the error. */
async function handshake (port: number): Promise<string> {
  return await new Promise<string>((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: 'secure.example.test', ca: cert.cert }, () => {
      resolve(String(s.getPeerCertificate().subject.CN))
      s.end()
    })
    s.on('error', (err: Error) => { resolve(`error: ${err.message}`) })
  })
}

describe('https visitors and the relay plugins (NewUserConn)', () => {
  it('passes an admitted visitor through whole, its handshake included, after asking once with its address', async () => {
    const b = await bed(() => true)
    expect(await handshake(b.port)).toBe('secure.example.test')
    expect(b.asked).toHaveLength(1)
    expect(b.asked[0]?.address).toBe('127.0.0.1')
    expect(b.asked[0]?.port).toBeGreaterThan(0)
    expect(b.vhosts.stats.https).toMatchObject({ routed: 1, forbidden: 0 })
  })

  it('resets a rejected visitor before anything reaches the client', async () => {
    const b = await bed(() => false)
    expect(await handshake(b.port)).toMatch(/^error: /)
    expect(b.asked).toHaveLength(1)
    expect(b.streams()).toBe(0)
    expect(b.vhosts.stats.https).toMatchObject({ routed: 0, forbidden: 1 })
  })
})
