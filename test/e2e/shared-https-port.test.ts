// frp's shared port (vhostHTTPSPort equal to bindPort) with real processes: on one port, https
// visitors are routed by SNI to their proxy (the service's own certificate), a plain client logs
// in, and a TLS client that marks its hello with frp's 0x17 byte logs in too; a TLS visitor for
// a name nobody serves is refused by the vhost, not taken for a client.
import { X509Certificate } from 'node:crypto'
import { connect as tlsConnect } from 'node:tls'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanupCli, E2E_TEST_TIMEOUT_MS, startClient, startRelay } from '../helpers/cli.js'
import { closeHttp, secureExampleCert, startHttpsService } from '../helpers/http.js'
import { closeServices, echoOnce, getFreePort, startEchoServer } from '../helpers/services.js'
import { vhostClientYaml } from '../helpers/vhost.js'

afterEach(async () => {
  await cleanupCli()
  await closeHttp()
  await closeServices()
})

function peerCertificate (port: number, servername: string, ca?: Buffer): Promise<{ fingerprint: string } | { error: string }> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername, ...(ca === undefined ? { rejectUnauthorized: false } : { ca }) }, () => {
      resolve({ fingerprint: s.getPeerCertificate().fingerprint256 })
      s.end()
    })
    s.on('error', (err: Error) => { resolve({ error: err.message }) })
  })
}

describe('vhostHTTPSPort shared with bindPort (frp\'s shared port)', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('serves https visitors by SNI, a plain client and a marked TLS client on the one port', async () => {
    const port = await getFreePort()
    const relay = await startRelay({ bindPort: port, extraYaml: `vhostHTTPSPort: ${port}` })
    expect(relay.port).toBe(port)
    expect(relay.handle.logs.some((l) => l.msg === 'vhost served on the client port (vhostHTTPSPort is bindPort)')).toBe(true)

    const cert = secureExampleCert()
    const svc = await startHttpsService('secure', cert)
    await startClient(vhostClientYaml(port, [{ name: 'secure', type: 'https', localPort: svc.port, extra: ['customDomains: [secure.example.test]'] }]))
    const seen = await peerCertificate(port, 'secure.example.test', cert.cert)
    expect(seen).toEqual({ fingerprint: new X509Certificate(cert.cert).fingerprint256 })
    expect(await peerCertificate(port, 'nobody.example.test')).toMatchObject({ error: expect.stringMatching(/unrecognized name/i) })

    // A TLS client marks its hello (0x17 first), as frp's clients must on a shared port.
    const echo = await startEchoServer()
    const remotePort = await getFreePort()
    const tlsYaml = [
      'serverAddr: 127.0.0.1',
      `serverPort: ${port}`,
      'auth:',
      '  token: e2e-test-token',
      'transport:',
      '  tls:',
      '    enable: true',
      '    disableCustomTLSFirstByte: false',
      'proxies:',
      `  - { name: echo, type: tcp, localIP: 127.0.0.1, localPort: ${echo.port}, remotePort: ${remotePort} }`,
    ].join('\n') + '\n'
    const tlsClient = await startClient(tlsYaml)
    expect(tlsClient.ports.get('echo')).toBe(remotePort)
    expect(await echoOnce(remotePort)).toBe(true)
    expect(tlsClient.handle.logs.find((l) => l.msg === 'logged in')?.transport).toBe('tls')
  })
})
