// tcpmux through the real CLI (issue 17): two SSH-like services (a banner, then an echo) behind
// one tcpmuxHTTPConnectPort, each reached with an HTTP CONNECT from a raw socket and from curl
// --proxytunnel; routeByHTTPUser with Proxy-Authorization; 404/407 answers; passthrough.
import { execFile } from 'node:child_process'
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { startBannerServer } from '../helpers/banner.js'
import { cleanupCli, E2E_TEST_TIMEOUT_MS, startClient, startRelay, TEST_TOKEN, type RelayHandle } from '../helpers/cli.js'
import { closeServices, connectTo, getFreePort } from '../helpers/services.js'
import { missingTool } from '../helpers/system-tools.js'

afterEach(async () => {
  await cleanupCli()
  await closeServices()
})

const START_ATTEMPTS = 4

/** A relay with a free tcpmux port (retried when another test took it meanwhile). */
async function startMuxRelay (extra = ''): Promise<{ relay: RelayHandle, mux: number }> {
  let last: unknown
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const mux = await getFreePort()
    try {
      return { relay: await startRelay({ extraYaml: `tcpmuxHTTPConnectPort: ${mux}\nsubDomainHost: example.test\n${extra}` }), mux }
    } catch (err) {
      last = err
      if (!String(err).includes('TUN_PORT_IN_USE')) throw err
    }
  }
  throw new Error(`no relay with a tcpmux port: ${String(last)}`)
}

/** Reads until `bytes` have arrived or the socket closes; resolves with what arrived. */
function readSome (socket: Socket, until: (text: string) => boolean, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve) => {
    let text = ''
    const done = (): void => { clearTimeout(timer); socket.off('data', onData); resolve(text) }
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1')
      if (until(text)) done()
    }
    const timer = setTimeout(done, timeoutMs)
    socket.on('data', onData)
    socket.once('close', done)
    socket.on('error', () => {})
  })
}

/** CONNECT host:22 on the mux port; resolves with the relay's answer head and what followed, after sending `say`. */
async function connectVia (mux: number, host: string, options: { auth?: string, say?: string } = {}): Promise<{ head: string, rest: string }> {
  const socket = await connectTo(mux)
  const auth = options.auth === undefined ? '' : `Proxy-Authorization: Basic ${Buffer.from(options.auth).toString('base64')}\r\n`
  socket.write(`CONNECT ${host}:22 HTTP/1.1\r\nHost: ${host}:22\r\n${auth}\r\n`)
  let text = await readSome(socket, (t) => t.includes('\r\n\r\n') && (!t.startsWith('HTTP/1.1 200') || t.split('\r\n\r\n')[1]?.includes('\n') === true))
  if (text.startsWith('HTTP/1.1 200') && options.say !== undefined) {
    socket.write(options.say)
    text += await readSome(socket, (t) => t.includes(options.say ?? ''))
  }
  socket.destroy()
  const cut = text.indexOf('\r\n\r\n')
  return { head: cut === -1 ? text : text.slice(0, cut), rest: cut === -1 ? '' : text.slice(cut + 4) }
}

function muxClientYaml (relayPort: number, proxies: string[]): string {
  return ['serverAddr: 127.0.0.1', `serverPort: ${relayPort}`, `auth: { token: ${JSON.stringify(TEST_TOKEN)} }`, 'proxies:', ...proxies].join('\n') + '\n'
}

function curlThrough (mux: number, host: string): Promise<{ stdout: string, code: number | null }> {
  return new Promise((resolve) => {
    const child = execFile('curl', ['-sS', '--max-time', '3', '--proxytunnel', '-x', `http://127.0.0.1:${mux}`, `telnet://${host}:22`], { encoding: 'utf8' }, (err, stdout) => {
      resolve({ stdout, code: err === null ? 0 : (typeof err.code === 'number' ? err.code : null) })
    })
    child.stdin?.end()
  })
}

describe('tcpmux (HTTP CONNECT on one port)', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('reaches two SSH-like services behind one tcpmuxHTTPConnectPort by the CONNECT host, and answers 404 for another host', async () => {
    const a = await startBannerServer('SSH-2.0-service-a')
    const b = await startBannerServer('SSH-2.0-service-b')
    const { relay, mux } = await startMuxRelay()
    const client = await startClient(muxClientYaml(relay.port, [
      '  - { name: ssh-a, type: tcpmux, multiplexer: httpconnect, localPort: ' + String(a.port) + ', customDomains: [a.example.test] }',
      '  - { name: ssh-b, type: tcpmux, multiplexer: httpconnect, localPort: ' + String(b.port) + ', subdomain: b }',
    ]))
    expect(client.ports.get('ssh-a')).toBe(mux)
    expect(client.ports.get('ssh-b')).toBe(mux)
    const toA = await connectVia(mux, 'a.example.test', { say: 'hello a\n' })
    expect(toA.head).toMatch(/^HTTP\/1\.1 200 /)
    expect(toA.rest).toBe('SSH-2.0-service-a\nhello a\n')
    const toB = await connectVia(mux, 'B.Example.Test', { say: 'hello b\n' })
    expect(toB.rest).toBe('SSH-2.0-service-b\nhello b\n')
    expect((await connectVia(mux, 'c.example.test')).head).toMatch(/^HTTP\/1\.1 404 /)
  })

  it.skipIf(missingTool('curl', 'curl'))('lets curl --proxytunnel reach each service by name', async () => {
    const a = await startBannerServer('SSH-2.0-service-a')
    const b = await startBannerServer('SSH-2.0-service-b')
    const { relay, mux } = await startMuxRelay()
    await startClient(muxClientYaml(relay.port, [
      '  - { name: ssh-a, type: tcpmux, localPort: ' + String(a.port) + ', customDomains: [a.example.test] }',
      '  - { name: ssh-b, type: tcpmux, localPort: ' + String(b.port) + ', customDomains: [b.example.test] }',
    ]))
    expect((await curlThrough(mux, 'a.example.test')).stdout).toContain('SSH-2.0-service-a')
    expect((await curlThrough(mux, 'b.example.test')).stdout).toContain('SSH-2.0-service-b')
  })

  it('routes by the Proxy-Authorization user with routeByHTTPUser and asks for the proxy\'s credentials (407)', async () => {
    const shared = await startBannerServer('shared')
    const alice = await startBannerServer('alice-only')
    const { relay, mux } = await startMuxRelay()
    await startClient(muxClientYaml(relay.port, [
      '  - { name: shared, type: tcpmux, localPort: ' + String(shared.port) + ', customDomains: [ssh.example.test] }',
      '  - { name: alice, type: tcpmux, localPort: ' + String(alice.port) + ', customDomains: [ssh.example.test], routeByHTTPUser: alice, httpUser: alice, httpPassword: s3cret }',
    ]))
    expect((await connectVia(mux, 'ssh.example.test')).rest).toBe('shared\n')
    expect((await connectVia(mux, 'ssh.example.test', { auth: 'alice:s3cret' })).rest).toBe('alice-only\n')
    const wrong = await connectVia(mux, 'ssh.example.test', { auth: 'alice:nope' })
    expect(wrong.head).toMatch(/^HTTP\/1\.1 407 /)
    expect(wrong.head).toContain('Proxy-Authenticate: Basic')
    // Another user falls back to the route for any user.
    expect((await connectVia(mux, 'ssh.example.test', { auth: 'bob:x' })).rest).toBe('shared\n')
  })

  it('passes the CONNECT head itself to the service with tcpmuxPassthrough', async () => {
    const echo = await startBannerServer('passthrough')
    const { relay, mux } = await startMuxRelay('tcpmuxPassthrough: true')
    await startClient(muxClientYaml(relay.port, ['  - { name: p, type: tcpmux, localPort: ' + String(echo.port) + ', customDomains: [p.example.test] }']))
    const socket = await connectTo(mux)
    socket.write('CONNECT p.example.test:22 HTTP/1.1\r\nHost: p.example.test:22\r\n\r\n')
    const text = await readSome(socket, (t) => t.includes('\r\n\r\n'))
    socket.destroy()
    // No answer from the relay: the service's banner, then its echo of the CONNECT request.
    expect(text).toBe('passthrough\nCONNECT p.example.test:22 HTTP/1.1\r\nHost: p.example.test:22\r\n\r\n')
  })
})
