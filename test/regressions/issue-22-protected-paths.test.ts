// Issue 22, finding 6: ways around a protected location (/ADMIN/, /admin;x/, /x/..\admin/)
// reached the unprotected proxy at /, whose backend may read them as /admin/. Now a location
// whose proxy has httpUser/httpPassword or a source filter also takes every spelling of its
// paths that backends read as the same (case, ;params, backslashes, escapes decoded again,
// full-width letters, trailing dots): such requests get its 401 or 403 and never reach the
// unprotected proxy. Raw HTTP requests from a socket, so nothing rewrites the spellings.
import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { closeHttp, startHttpService, type HttpService } from '../helpers/http.js'
import { clientConfig, closeInProcess, startClientInProcess } from '../helpers/in-process.js'
import { startVhostRelayInProcess } from '../helpers/vhost-in-process.js'

afterEach(async () => {
  await closeInProcess()
  await closeHttp()
})

/** Spellings of /admin/ that some backend reads as /admin/ (IIS, Tomcat, Windows, double decoders). */
const SPELLINGS = [
  '/ADMIN/', '/Admin/users', '/admin;x/', '/admin;jsessionid=1/users', '/x/..\\admin/', '/x\\..\\admin\\',
  '/%41DMIN/', '/%2561dmin/', '/admin%3bx/', '/x/..%5cadmin/', '/admin./', '/admin%20/', '//ADMIN//x',
  '/%EF%BD%81%EF%BD%84%EF%BD%8D%EF%BD%89%EF%BD%8E/', // full-width "admin"
]

/** One request on its own connection, the target written as it is; the status code (0 if none). */
async function status (port: number, host: string, target: string): Promise<number> {
  return await new Promise<number>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    let text = ''
    const timer = setTimeout(() => { socket.destroy() }, 5_000)
    socket.on('data', (c: Buffer) => { text += c.toString('latin1') })
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text)
      resolve(m === null ? 0 : Number(m[1]))
    })
    socket.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)
  })
}

async function site (guard: string): Promise<{ http: number, open: HttpService, guarded: HttpService }> {
  const { port, http } = await startVhostRelayInProcess()
  const open = await startHttpService('open')
  const guarded = await startHttpService('guarded')
  await startClientInProcess(clientConfig(port, [
    'proxies:',
    `  - { name: site, type: http, localPort: ${open.port}, customDomains: [s.example.test] }`,
    `  - { name: admin, type: http, localPort: ${guarded.port}, customDomains: [s.example.test], locations: [/admin/], ${guard} }`,
    '',
  ].join('\n')))
  return { http, open, guarded }
}

describe('issue 22: a protected location catches every spelling of its paths', () => {
  it('asks for the credentials of a location with httpUser for each spelling, and the unprotected proxy never sees one', async () => {
    const { http, open, guarded } = await site('httpUser: u, httpPassword: p')
    for (const target of SPELLINGS) expect(await status(http, 's.example.test', target), target).toBe(401)
    expect(open.requests).toEqual([])
    expect(guarded.requests).toEqual([])
    // Paths that are not the protected one still go to the open proxy.
    for (const target of ['/', '/administrator', '/x/admin/', '/adm/in/', '/Public/a;b']) expect(await status(http, 's.example.test', target), target).toBe(200)
    expect(open.requests).toHaveLength(5)
  })

  it('refuses each spelling with 403 when the location is protected by allowSources', async () => {
    const { http, open, guarded } = await site('allowSources: [10.0.0.0/8]')
    for (const target of SPELLINGS) expect(await status(http, 's.example.test', target), target).toBe(403)
    expect(open.requests).toEqual([])
    expect(guarded.requests).toEqual([])
  })
})
