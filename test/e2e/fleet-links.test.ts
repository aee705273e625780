// Inter-relay links and forwarding with real processes on loopback: two fleet relays (each with its
// own auth.privateKey, published in its record) sharing a one-member etcd started by the test; a
// client attached to the first relay only serves an http proxy. A visitor that asks the second
// relay for that domain is forwarded over a Noise-authenticated link to the first, byte-exact both
// ways, and the service sees the original visitor's address; a domain nobody serves stays a 404
// without any forward. A party that knows auth.token (every client does) but is not a fleet member
// cannot open a link: neither under a name the store does not know nor under a member's name with
// another key.
import { randomBytes, X509Certificate } from 'node:crypto'
import { Agent, request } from 'node:http'
import { connect, type Socket } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import pino from 'pino'
import { cleanupCli, logMsg, spawnCli, startClient, startRelay, TEST_TOKEN, type RelayHandle } from '../helpers/cli.js'
import { closeServices, echoOnce, exchange, getFreePort, sha256, startEchoServer, startServer } from '../helpers/services.js'
import { parseProxyHeader, type ParsedProxyHeader } from '../../shared/net/proxy-protocol.js'
import { connect as tlsConnect } from 'node:tls'
import { closeHttp, secureExampleCert, startHttpService, startHttpsService, startWebSocketEcho, webSocketEcho, type Seen } from '../helpers/http.js'
import { vhostClientYaml } from '../helpers/vhost.js'
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js'
import { missingTool } from '../helpers/system-tools.js'
import { derivePsk, keyPairFromSecret, decodeKey, newKeyPair } from '../../shared/transport/index.js'
import { FleetLinks, type OwnershipStore, type RelayRecord } from '../../server/fleet/index.js'

const BODY_BYTES = 512 * 1024
/** The first relay's maxConnectionsPerSource: a forwarded visitor counts there under its own address. */
const PER_SOURCE_CAP = 3

/** Opens a request to 127.0.0.1:port for `host` from `source` whose body never completes: the connection stays busy. */
async function heldRequest (port: number, host: string, source: string): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port, localAddress: source })
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  socket.write(`POST /slow HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 1000\r\n\r\npartial`)
  return socket
}

interface Answer { status: number, body: Buffer }

/** A POST with `body` to 127.0.0.1:port for `host`, sent from `source` (a loopback address). */
async function post (port: number, host: string, body: Buffer, source: string): Promise<Answer> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, localAddress: source, path: '/upload', method: 'POST', agent: false, headers: { Host: host, 'Content-Length': String(body.length) } }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (c: Buffer) => parts.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** A store that knows exactly the records given (what a dialler reads to find and pin a peer). */
function recordsStore (records: RelayRecord[]): OwnershipStore {
  const fail = (): never => { throw new Error('not used by a dialler') }
  return {
    nodeName: 'intruder',
    stats: { claims: 0, conflicts: 0, unavailable: 0, leasesRegranted: 0, reclaimed: 0, reclaimLost: 0, watchesRenewed: 0 },
    start: async () => {},
    attach: fail,
    detach: fail,
    claim: fail,
    release: fail,
    drop: fail,
    relays: async () => records,
    relay: async (name) => records.find((r) => r.nodeName === name),
    owner: fail,
    servedBy: fail,
    watchRoutes: () => () => {},
    close: async () => {},
  }
}

describe.skipIf(missingTool('etcd', 'etcd-server'))('inter-relay links of a fleet of real processes', { timeout: 120_000 }, () => {
  let etcd: EtcdCluster
  const keys = [newKeyPair(), newKeyPair()]
  const relays: RelayHandle[] = []
  const ports: Array<{ bind: number, http: number, https: number, admin: number }> = []

  beforeAll(async () => {
    etcd = await startEtcd(1)
    for (let i = 0; i < 2; i++) {
      const bind = await getFreePort()
      const http = await getFreePort()
      const https = await getFreePort()
      const admin = await getFreePort()
      ports.push({ bind, http, https, admin })
      relays.push(await startRelay({
        bindPort: bind,
        extraYaml: `  privateKey: "${keys[i]?.privateKey ?? ''}"\n${i === 0 ? `maxConnectionsPerSource: ${PER_SOURCE_CAP}\n` : ''}vhostHTTPPort: ${http}\nvhostHTTPSPort: ${https}\nwebServer:\n  port: ${admin}\nfleet:\n  nodeName: link-${i}\n  advertiseAddr: 127.0.0.1:${bind}\n  etcd:\n    endpoints: [${etcd.endpoints.join(', ')}]\n    prefix: /links/\n`,
      }))
    }
  }, 60_000)
  afterAll(async () => {
    await cleanupCli()
    await etcd.close()
  }, 30_000)
  afterEach(async () => {
    await closeServices()
    await closeHttp()
  })

  it('forwards a request for a domain served by another relay over a link, byte-exact, with the original visitor\'s address', async () => {
    const [first, second] = relays
    const [p0, p1] = ports
    if (first === undefined || second === undefined || p0 === undefined || p1 === undefined) throw new Error('two relays')
    const svc = await startHttpService('linked')
    const yaml = vhostClientYaml(p0.bind, [{ name: 'linked-site', type: 'http', localPort: svc.port, extra: ['customDomains: [linked.example.test]'] }])
    await startClient(yaml.replace('proxies:', 'clientID: linked-client\nfleet:\n  servers: [127.0.0.1:' + String(p0.bind) + ']\n  connections: 1\nproxies:'))
    for (let n = 0; n < 3; n++) {
      const body = randomBytes(BODY_BYTES)
      const answer = await post(p1.http, 'linked.example.test', body, `127.0.0.${n + 5}`)
      expect(answer.status).toBe(200)
      const seen = JSON.parse(answer.body.toString('utf8')) as Seen
      expect(seen.bodyBytes).toBe(BODY_BYTES)
      expect(seen.bodySha256).toBe(sha256(body))
      // The first relay's vhost treats the forwarded visitor as its own: the original address.
      expect(seen.headers['x-real-ip']).toBe(`127.0.0.${n + 5}`)
      expect(seen.headers['x-forwarded-for']).toBe(`127.0.0.${n + 5}`)
    }
    // One link, reused: dialled once by the second relay, accepted once by the first.
    expect(second.handle.logs.filter((l) => l.msg === 'fleet: link to a peer relay up')).toHaveLength(1)
    expect(first.handle.logs.filter((l) => l.msg === 'fleet: link from a peer relay up')).toHaveLength(1)
    // The same domain asked of the relay that serves it: no forward at all.
    const direct = await post(p0.http, 'linked.example.test', Buffer.from('direct'), '127.0.0.1')
    expect(direct.status).toBe(200)
    // A domain nobody serves: a 404 from the relay asked, nothing forwarded.
    const none = await post(p1.http, 'nobody.example.test', Buffer.from('x'), '127.0.0.1')
    expect(none.status).toBe(404)
    expect(svc.requests).toHaveLength(4)
    // Both relays' status counts the forwarded streams and the link, and tunnel status --fleet prints them.
    const status = async (r: RelayHandle): Promise<{ fleet: { links: Record<string, number> } }> => {
      const h = spawnCli(['status', '-c', r.configPath, '--json'])
      expect((await h.exit).code, h.stderr()).toBe(0)
      return JSON.parse(h.stdout()) as never
    }
    const out = (await status(second)).fleet.links
    const into = (await status(first)).fleet.links
    expect(out).toMatchObject({ out: 1, dialled: 1, forwardedOut: 3, forwardFailed: 0 })
    expect(into).toMatchObject({ in: 1, accepted: 1, refused: 0, forwardedIn: 3 })
    const text = spawnCli(['status', '-c', second.configPath, '--fleet'])
    expect((await text.exit).code).toBe(0)
    expect(text.stdout()).toMatch(/Links \(this relay\): 1 out, 0 in, \d+ streams; dialled 1 \(failed 0\), accepted 0, refused 0; forwarded out 3, in 0, failed 0/)
    // One keep-alive visitor connection, three requests in a row: each is forwarded on its own
    // (a link stream per request) and answered on the same visitor connection.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const sockets = new Set<unknown>()
    try {
      for (let n = 0; n < 3; n++) {
        const body = randomBytes(1000 + n)
        const answer = await new Promise<Answer>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port: p1.http, path: `/keep-${n}`, method: 'POST', agent, headers: { Host: 'linked.example.test', 'Content-Length': String(body.length) } }, (res) => {
            const parts: Buffer[] = []
            res.on('data', (c: Buffer) => parts.push(c))
            res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }) })
            res.on('error', reject)
          })
          req.on('socket', (sock) => { sockets.add(sock) })
          req.on('error', reject)
          req.end(body)
        })
        expect(answer.status).toBe(200)
        expect((JSON.parse(answer.body.toString('utf8')) as Seen).bodySha256).toBe(sha256(body))
      }
    } finally {
      agent.destroy()
    }
    expect(sockets.size).toBe(1)
    expect(svc.requests).toHaveLength(7)
    expect((await status(second)).fleet.links).toMatchObject({ forwardedOut: 6, forwardFailed: 0 })
  })

  it('forwards a WebSocket upgrade and an https connection (by SNI, TLS not terminated) to the relay that serves the domain', async () => {
    const [p0, p1] = ports
    if (p0 === undefined || p1 === undefined) throw new Error('two relays')
    const ws = await startWebSocketEcho()
    const cert = secureExampleCert()
    const tlsSvc = await startHttpsService('secure', cert)
    const yaml = vhostClientYaml(p0.bind, [
      { name: 'linked-ws', type: 'http', localPort: ws.port, extra: ['customDomains: [ws.linked.test]'] },
      { name: 'linked-tls', type: 'https', localPort: tlsSvc.port, extra: ['customDomains: [secure.example.test]'] },
    ])
    await startClient(yaml.replace('proxies:', 'clientID: linked-ws-client\nfleet:\n  servers: [127.0.0.1:' + String(p0.bind) + ']\n  connections: 1\nproxies:'))
    const messages = ['hello', 'x'.repeat(100_000)]
    const { echoes } = await webSocketEcho(p1.http, 'ws.linked.test', messages)
    expect(echoes).toEqual(messages)
    // The visitor gets the service's own certificate through the relay that does not serve it.
    const fingerprint = await new Promise<string>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: p1.https, servername: 'secure.example.test', ca: cert.cert }, () => {
        resolve(s.getPeerCertificate().fingerprint256)
        s.end()
      })
      s.on('error', reject)
    })
    expect(fingerprint).toBe(new X509Certificate(cert.cert).fingerprint256)
    // A name nobody serves: the unrecognized_name alert, as on a single relay.
    const unknown = await new Promise<string>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: p1.https, servername: 'nobody.example.test', rejectUnauthorized: false })
      s.on('error', (err: Error) => { resolve(err.message) })
      s.on('secureConnect', () => { resolve('connected'); s.destroy() })
    })
    expect(unknown).toMatch(/unrecognized name/i)
  })

  it('applies the serving relay\'s maxConnectionsPerSource to a forwarded visitor under its own address', async () => {
    const [p0, p1] = ports
    if (p0 === undefined || p1 === undefined) throw new Error('two relays')
    // cap.example.test is served by the first relay; visitors ask the second.
    const svc = await startHttpService('capped')
    const yaml = vhostClientYaml(p0.bind, [{ name: 'capped-site', type: 'http', localPort: svc.port, extra: ['customDomains: [cap.example.test]'] }])
    await startClient(yaml.replace('proxies:', 'clientID: capped-client\nfleet:\n  servers: [127.0.0.1:' + String(p0.bind) + ']\n  connections: 1\nproxies:'))
    const first = relays[0]
    if (first === undefined) throw new Error('two relays')
    const visitors = async (): Promise<number> => {
      const h = spawnCli(['status', '-c', first.configPath, '--json'])
      expect((await h.exit).code, h.stderr()).toBe(0)
      return (JSON.parse(h.stdout()) as { limits: { visitors: number } }).limits.visitors
    }
    const before = await visitors()
    const held: Socket[] = []
    for (let i = 0; i < PER_SOURCE_CAP; i++) held.push(await heldRequest(p1.http, 'cap.example.test', '127.0.0.20'))
    try {
      // The first relay holds them once the second relay forwarded each on its own stream.
      for (let i = 0; i < 100 && await visitors() < before + PER_SOURCE_CAP; i++) await new Promise((resolve) => setTimeout(resolve, 100))
      expect(await visitors()).toBe(before + PER_SOURCE_CAP)
      // One more from that source is shed where the proxy is served (the second relay answers 502); another source is not.
      expect((await post(p1.http, 'cap.example.test', Buffer.from('one more'), '127.0.0.20')).status).toBe(502)
      expect((await post(p1.http, 'cap.example.test', Buffer.from('other source'), '127.0.0.21')).status).toBe(200)
      expect(svc.requests.map((r) => r.bodyBytes)).toEqual(['other source'.length])
    } finally {
      for (const s of held) s.destroy()
    }
  })

  it('gives a forwarded https connection\'s service the original visitor\'s address in the PROXY header its proxy asks for', async () => {
    const [p0, p1] = ports
    if (p0 === undefined || p1 === undefined) throw new Error('two relays')
    const headers: ParsedProxyHeader[] = []
    const svc = await startServer((socket) => {
      let buf = Buffer.alloc(0)
      socket.on('data', (c: Buffer) => {
        buf = Buffer.concat([buf, c])
        const h = parseProxyHeader(buf)
        if (h !== undefined) { headers.push(h); socket.destroy() }
      })
      socket.on('error', () => {})
    })
    const yaml = vhostClientYaml(p0.bind, [{ name: 'pp-tls', type: 'https', localPort: svc.port, extra: ['customDomains: [pp.example.test]', 'transport: { proxyProtocolVersion: v2 }'] }])
    await startClient(yaml.replace('proxies:', 'clientID: linked-pp-client\nfleet:\n  servers: [127.0.0.1:' + String(p0.bind) + ']\n  connections: 1\nproxies:'))
    await new Promise<void>((resolve) => {
      const raw = connect({ host: '127.0.0.1', port: p1.https, localAddress: '127.0.0.9' })
      raw.on('error', () => {})
      const s = tlsConnect({ socket: raw, servername: 'pp.example.test', rejectUnauthorized: false })
      s.on('error', () => { resolve() })
      s.on('close', () => { resolve() })
    })
    expect(headers).toHaveLength(1)
    expect(headers[0]?.source?.address).toBe('127.0.0.9')
  })

  it('forwards a visit to an stcp proxy served by another relay: the right visitor gets its bytes back exactly, a wrong secret or a user not allowed is refused', async () => {
    const [, second] = relays
    const [p0, p1] = ports
    if (second === undefined || p0 === undefined || p1 === undefined) throw new Error('two relays')
    const echo = await startEchoServer()
    const client = (port: number, user: string, body: string): string => [
      'serverAddr: 127.0.0.1', `serverPort: ${port}`, `user: ${user}`, `clientID: ${user}-visits`, 'auth:', `  token: ${JSON.stringify(TEST_TOKEN)}`,
      'fleet:', `  servers: [127.0.0.1:${port}]`, '  connections: 1', body,
    ].join('\n') + '\n'
    const home = await startClient(client(p0.bind, 'home', `proxies:\n  - { name: vault, type: stcp, localPort: ${echo.port}, secretKey: s3cret, allowUsers: [laptop] }`), { waitFor: 'login' })
    await home.handle.waitForLog(logMsg('proxy registered', { proxy: 'home.vault' }))
    const [good, wrongKey, eveKey] = [await getFreePort(), await getFreePort(), await getFreePort()]
    const visitor = (name: string, bindPort: number, secret = 's3cret'): string => `  - { name: ${name}, type: stcp, serverUser: home, serverName: vault, secretKey: ${secret}, bindPort: ${bindPort} }`
    const laptop = await startClient(client(p1.bind, 'laptop', `visitors:\n${visitor('good', good)}\n${visitor('wrong', wrongKey, 'guess')}`), { waitFor: 'login' })
    const eve = await startClient(client(p1.bind, 'eve', `visitors:\n${visitor('eve', eveKey)}`), { waitFor: 'login' })
    await laptop.handle.waitForLog(logMsg('visitor listening', { visitor: 'wrong' }))
    await eve.handle.waitForLog(logMsg('visitor listening', { visitor: 'eve' }))
    const { sent, reply } = await exchange(good, BODY_BYTES, { keep: true, timeoutMs: 15_000 })
    expect(reply.bytes).toBe(BODY_BYTES)
    expect(reply.sha256).toBe(sent.sha256)
    // Refused by the relay that holds the proxy, with the answer a local refusal gets.
    expect(await echoOnce(wrongKey)).toBe(false)
    expect(await echoOnce(eveKey)).toBe(false)
    await laptop.handle.waitForLog((l) => l.visitor === 'wrong' && l.code === 'TUN_VISIT_REFUSED')
    await eve.handle.waitForLog((l) => l.visitor === 'eve' && l.code === 'TUN_VISIT_REFUSED')
    const reasons = relays[0]?.handle.logs.filter((l) => l.msg === 'visit refused').map((l) => l.reason).sort()
    expect(reasons).toEqual(['proof', 'user'])
    expect(await echoOnce(good)).toBe(true)
  })

  it('refuses a link from a party that knows auth.token but is not a fleet member, by name or by key', async () => {
    const [first] = relays
    const [p0] = ports
    const published = keys[0]?.publicKey
    if (first === undefined || p0 === undefined || published === undefined) throw new Error('two relays')
    const target: RelayRecord = { nodeName: 'link-0', advertiseAddr: `127.0.0.1:${p0.bind}`, startedAt: 0, clients: 0, publicKey: published }
    const mark = first.handle.logs.length
    for (const name of ['intruder', 'link-1']) {
      const impostor = newKeyPair()
      const secret = decodeKey(impostor.privateKey)
      if (typeof secret === 'string') throw new Error(secret)
      const links = new FleetLinks({ nodeName: name, store: recordsStore([target]), staticKey: keyPairFromSecret(secret), psk: derivePsk(TEST_TOKEN), log: pino({ level: 'silent' }) })
      // The handshake itself succeeds (the token is right); the relay then checks the fleet's records and drops the link.
      const session = await links.link('link-0')
      await new Promise<void>((resolve) => { if (session.closed) resolve(); else session.once('close', () => { resolve() }) })
      expect(session.closed).toBe(true)
      links.close()
    }
    const refusals = await first.handle.waitForLog((l) => l.msg === 'fleet: link refused: the peer is not a proven fleet member' && l.peer === 'link-1', 10_000, mark)
    expect(refusals.code).toBe('TUN_FLEET_LINK_REFUSED')
    const refused = first.handle.logs.slice(mark).filter((l) => l.msg === 'fleet: link refused: the peer is not a proven fleet member')
    expect(refused.map((l) => l.peer)).toEqual(['intruder', 'link-1'])
    expect(refused.map((l) => l.reason)).toEqual(['no relay of that name is in the fleet', 'its key is not the one that relay publishes'])
    // Nothing of the impostors was taken for a link.
    expect(first.handle.logs.slice(mark).filter(logMsg('fleet: link from a peer relay up'))).toHaveLength(0)
  })
})
