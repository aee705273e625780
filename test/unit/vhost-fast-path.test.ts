// The vhost's fast path (issue 21) with raw visitors and raw services: heads split at every byte,
// pipelined requests to two proxies on one connection, chunked bodies with trailers both ways,
// close-delimited and bodiless responses, oversize heads, and the smuggling shapes refused
// before anything reaches a service.
import { connect, type Socket } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { VHOST_HEADERS_TIMEOUT_MS, VHOST_KEEPALIVE_TIMEOUT_MS, VHOST_MAX_HEADER_BYTES } from '../../server/vhost/visitor-connection.js'
import { closeHttp, startHttpService, type Seen } from '../helpers/http.js'
import { closeVhostBeds, httpSpec as http, vhostBed as bed } from '../helpers/vhost-bed.js'
import { closeServices, startServer } from '../helpers/services.js'

const sockets: Socket[] = []

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  closeVhostBeds()
  await closeHttp()
  await closeServices()
})

/** A raw visitor: writes what it is given, collects every byte until it closes or `until` holds. */
async function visitor (port: number): Promise<{ socket: Socket, text: () => string, closed: Promise<void>, waitFor: (until: (text: string) => boolean) => Promise<string> }> {
  const socket = connect({ host: '127.0.0.1', port })
  sockets.push(socket)
  socket.on('error', () => {})
  await new Promise<void>((resolve) => socket.once('connect', resolve))
  let text = ''
  const waiters = new Set<() => void>()
  socket.on('data', (c: Buffer) => { text += c.toString('latin1'); for (const w of waiters) w() })
  const closed = new Promise<void>((resolve) => socket.once('close', () => { resolve(); for (const w of waiters) w() }))
  const waitFor = (until: (t: string) => boolean): Promise<string> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`timed out; got ${JSON.stringify(text.slice(0, 400))}`)) }, 10_000)
    const check = (): void => {
      if (!until(text) && !socket.destroyed) return
      clearTimeout(timer)
      waiters.delete(check)
      resolve(text)
    }
    waiters.add(check)
    check()
  })
  return { socket, text: () => text, closed, waitFor }
}

/** How many complete responses with a Content-Length `text` holds. */
function responses (text: string): Array<{ head: string, body: string }> {
  const out: Array<{ head: string, body: string }> = []
  let rest = text
  for (;;) {
    const end = rest.indexOf('\r\n\r\n')
    if (end < 0) return out
    const head = rest.slice(0, end)
    const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0)
    if (rest.length < end + 4 + len) return out
    out.push({ head, body: rest.slice(end + 4, end + 4 + len) })
    rest = rest.slice(end + 4 + len)
  }
}

const seen = (body: string): Seen => JSON.parse(body) as Seen

describe('vhost fast path: requests', () => {
  it('keeps a stream to the service for the next request until the time its Keep-Alive gives, closes it by then, and never reuses one whose time is up', async () => {
    const b = await bed()
    const open = new Set<Socket>()
    let closes: Array<() => void> = []
    const svc = await startServer((socket) => {
      open.add(socket)
      socket.once('close', () => { open.delete(socket); for (const c of closes.splice(0)) c() })
      socket.on('data', (c: Buffer) => {
        // Node's own servers say timeout=5: the relay keeps the stream 4 s at most.
        if (c.includes('\r\n\r\n')) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=5\r\n\r\nok')
      })
    })
    b.add(http('k', ['k.example.test']), svc.port)
    const closed = async (): Promise<void> => { await new Promise<void>((resolve) => { closes.push(resolve) }) }
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    try {
      const v = await visitor(b.port)
      const ask = async (n: number): Promise<void> => {
        v.socket.write('GET / HTTP/1.1\r\nHost: k.example.test\r\n\r\n')
        await v.waitFor((t) => responses(t).length === n)
      }
      await ask(1)
      await ask(2)
      expect(svc.connections).toBe(1) // the second request reused the pooled stream
      await vi.advanceTimersByTimeAsync(2_500)
      expect(open.size).toBe(1)
      const gone = closed()
      await vi.advanceTimersByTimeAsync(1_500) // 4 s after the last response
      await gone
      expect(open.size).toBe(0)
      await ask(3)
      expect(svc.connections).toBe(2)
      // The clock jumps past the pooled stream's time before the sweep has looked: it is not reused.
      vi.setSystemTime(Date.now() + 10_000)
      await ask(4)
      expect(svc.connections).toBe(3)
    } finally {
      closes = []
      vi.useRealTimers()
    }
  })

  it('finds the head wherever the visitor cuts it, one cut per connection', async () => {
    const b = await bed()
    const a = await startHttpService('a')
    b.add(http('a', ['a.example.test']), a.port)
    const req = 'GET /cut?x=1 HTTP/1.1\r\nHost: a.example.test\r\nX-Long: ' + 'v'.repeat(40) + '\r\n\r\n'
    for (let cut = 1; cut < req.length; cut++) {
      const v = await visitor(b.port)
      v.socket.write(req.slice(0, cut))
      await new Promise((resolve) => setImmediate(resolve))
      v.socket.write(req.slice(cut))
      const text = await v.waitFor((t) => responses(t).length === 1)
      expect(seen(responses(text)[0]?.body ?? '{}')).toMatchObject({ service: 'a', url: '/cut?x=1' })
      v.socket.destroy()
    }
    expect(a.requests).toHaveLength(req.length - 1)
  })

  it('reads a large head that arrives in many small pieces, and the body bytes after it', async () => {
    const b = await bed()
    const a = await startHttpService('a')
    b.add(http('a', ['a.example.test']), a.port)
    const req = `POST /pieces HTTP/1.1\r\nHost: a.example.test\r\nX-Big: ${'p'.repeat(12_000)}\r\nContent-Length: 5\r\n\r\nhello`
    const v = await visitor(b.port)
    v.socket.setNoDelay(true)
    for (let at = 0; at < req.length; at += 97) {
      v.socket.write(req.slice(at, at + 97))
      if (at % 970 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    const text = await v.waitFor((t) => responses(t).length === 1)
    expect(seen(responses(text)[0]?.body ?? '{}')).toMatchObject({ url: '/pieces', bodyBytes: 5 })
    expect(String(seen(responses(text)[0]?.body ?? '{}').headers['x-big']).length).toBe(12_000)
  })

  it('answers pipelined requests in order, each routed by its own Host, a chunked body with trailers passed intact', async () => {
    const b = await bed()
    const a = await startHttpService('a')
    const c = await startHttpService('c')
    b.add(http('a', ['a.example.test']), a.port)
    b.add(http('c', ['c.example.test']), c.port)
    const chunked = 'POST /up HTTP/1.1\r\nHost: c.example.test\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n'
    const v = await visitor(b.port)
    v.socket.write(`GET /1 HTTP/1.1\r\nHost: a.example.test\r\n\r\n${chunked}GET /3 HTTP/1.1\r\nHost: a.example.test\r\n\r\nPOST /4 HTTP/1.1\r\nHost: c.example.test\r\nContent-Length: 3\r\n\r\nabc`)
    const text = await v.waitFor((t) => responses(t).length === 4)
    const got = responses(text).map((r) => seen(r.body))
    expect(got.map((s) => [s.service, s.url])).toEqual([['a', '/1'], ['c', '/up'], ['a', '/3'], ['c', '/4']])
    expect(got[1]?.bodyBytes).toBe(11)
    expect(got[3]?.bodyBytes).toBe(3)
    expect(b.vhosts.stats.http.requests).toBe(4)
  })

  it('refuses conflicting framing, obs-fold and duplicate lengths with 400 before any service sees them', async () => {
    const b = await bed()
    const a = await startHttpService('a')
    b.add(http('a', ['a.example.test']), a.port)
    const bad = [
      'POST / HTTP/1.1\r\nHost: a.example.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: a.example.test\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde',
      'GET / HTTP/1.1\r\nHost: a.example.test\r\nX-A: 1\r\n folded: yes\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: a.example.test\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n',
      'GET / HTTP/1.1\nHost: a.example.test\n\n',
    ]
    for (const req of bad) {
      const v = await visitor(b.port)
      v.socket.write(req)
      await v.closed
      expect(v.text()).toMatch(/^HTTP\/1\.1 400 [\s\S]*could not be read as HTTP\/1\.1/)
      expect(v.text()).toMatch(/\r\nConnection: close\r\n/)
    }
    expect(a.requests).toHaveLength(0)
    expect(b.vhosts.stats.http.badRequest).toBe(bad.length)
  })

  it('answers a head over the size limit with 431 and closes, without waiting for its end', async () => {
    const b = await bed()
    const a = await startHttpService('a')
    b.add(http('a', ['a.example.test']), a.port)
    const v = await visitor(b.port)
    v.socket.write(`GET / HTTP/1.1\r\nHost: a.example.test\r\nX-Big: ${'b'.repeat(VHOST_MAX_HEADER_BYTES)}`)
    await v.closed
    expect(v.text()).toMatch(/^HTTP\/1\.1 431 /)
    expect(a.requests).toHaveLength(0)
    expect(b.vhosts.stats.http.badRequest).toBe(1)
  })

  it('drops a chunked body whose framing breaks mid-way, on both sides', async () => {
    const b = await bed()
    let received = ''
    let serviceClosed = false
    const svc = await startServer((socket) => {
      socket.on('data', (c: Buffer) => { received += c.toString('latin1') })
      socket.on('error', () => {})
      socket.once('close', () => { serviceClosed = true })
    })
    b.add(http('s', ['s.example.test']), svc.port)
    const v = await visitor(b.port)
    v.socket.write('POST / HTTP/1.1\r\nHost: s.example.test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nZZ\r\n')
    await v.closed
    for (let i = 0; i < 500 && !serviceClosed; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(serviceClosed).toBe(true)
    expect(received).not.toContain('ZZ')
    expect(b.vhosts.stats.http.badRequest).toBe(1)
  })
})

describe('vhost fast path: responses', () => {
  /** A raw service answering each request head with `answer(n)` (n counts from 1 per connection). */
  async function rawService (answer: (n: number, head: string) => string) {
    const heads: string[] = []
    const svc = await startServer((socket) => {
      let buf = ''
      let n = 0
      socket.on('error', () => {})
      socket.on('data', (c: Buffer) => {
        buf += c.toString('latin1')
        for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
          const head = buf.slice(0, end)
          buf = buf.slice(end + 4)
          heads.push(head)
          const out = answer(++n, head)
          if (out === 'CLOSE') { socket.end(); return }
          if (out.endsWith('<EOF>')) { socket.end(out.slice(0, -5)); return }
          socket.write(out)
        }
      })
    })
    return Object.assign(svc, { heads })
  }

  it('passes a chunked response with trailers as it came, and the connection goes on', async () => {
    const b = await bed()
    const chunkedReply = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n4\r\nwiki\r\n5;x=y\r\npedia\r\n0\r\nX-Sum: 9\r\n\r\n'
    const svc = await rawService((n) => n === 1 ? chunkedReply : 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
    b.add(http('s', ['s.example.test']), svc.port)
    const v = await visitor(b.port)
    v.socket.write('GET /a HTTP/1.1\r\nHost: s.example.test\r\n\r\nGET /b HTTP/1.1\r\nHost: s.example.test\r\n\r\n')
    const text = await v.waitFor((t) => t.endsWith('\r\n\r\nok'))
    expect(text).toContain('\r\n\r\n4\r\nwiki\r\n5;x=y\r\npedia\r\n0\r\nX-Sum: 9\r\n\r\nHTTP/1.1 200 OK\r\n')
    expect(svc.heads.map((h) => h.split('\r\n')[0])).toEqual(['GET /a HTTP/1.1', 'GET /b HTTP/1.1'])
    expect(svc.connections).toBe(1)
  })

  it('sets responseHeaders on a chunked response without touching its body, and drops a Content-Length beside Transfer-Encoding', async () => {
    const b = await bed()
    const svc = await rawService(() => 'HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\nX-Frame-Options: SAMEORIGIN\r\n\r\n3\r\nabc\r\n0\r\n\r\n')
    b.add(http('s', ['s.example.test'], { responseHeaders: { 'X-Frame-Options': 'DENY', 'X-Extra': '1' } }), svc.port)
    const v = await visitor(b.port)
    v.socket.write('GET / HTTP/1.1\r\nHost: s.example.test\r\n\r\n')
    const text = await v.waitFor((t) => t.endsWith('0\r\n\r\n'))
    const [head, body] = text.split('\r\n\r\n', 2)
    expect(head).toContain('\r\nX-Frame-Options: DENY')
    expect(head).toContain('\r\nX-Extra: 1')
    expect(head).toContain('\r\nTransfer-Encoding: chunked')
    expect(head).not.toMatch(/content-length|SAMEORIGIN/i)
    expect(`${body ?? ''}\r\n\r\n`).toBe('3\r\nabc\r\n0\r\n\r\n')
  })

  it('ends the visitor\'s connection after a response framed by the service closing it', async () => {
    const b = await bed()
    const svc = await rawService(() => 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end<EOF>')
    b.add(http('s', ['s.example.test']), svc.port)
    const v = await visitor(b.port)
    v.socket.write('GET / HTTP/1.1\r\nHost: s.example.test\r\n\r\n')
    await v.closed
    expect(v.text()).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*Connection: close\r\n\r\nuntil the end$/)
  })

  it('knows HEAD, 204 and 304 answers have no body, and drops hop-by-hop response headers', async () => {
    const b = await bed()
    const svc = await rawService((n) => n === 1
      ? 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nKeep-Alive: timeout=30\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n\r\n'
      : n === 2 ? 'HTTP/1.1 204 No Content\r\n\r\n' : 'HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n')
    b.add(http('s', ['s.example.test']), svc.port)
    const v = await visitor(b.port)
    v.socket.write('HEAD / HTTP/1.1\r\nHost: s.example.test\r\n\r\nDELETE /x HTTP/1.1\r\nHost: s.example.test\r\n\r\nGET / HTTP/1.1\r\nHost: s.example.test\r\n\r\n')
    const text = await v.waitFor((t) => t.includes('304 Not Modified') && t.endsWith('\r\n\r\n'))
    expect(text.match(/HTTP\/1\.1 /g)).toHaveLength(3)
    expect(text).toContain('Content-Length: 1000\r\n')
    expect(text).not.toMatch(/keep-alive|X-Hop/i)
    expect(svc.connections).toBe(1)
  })

  it('answers 502 to a malformed response head and never passes it on', async () => {
    const b = await bed()
    const svc = await rawService(() => 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc')
    b.add(http('s', ['s.example.test']), svc.port)
    const v = await visitor(b.port)
    v.socket.write('GET / HTTP/1.1\r\nHost: s.example.test\r\n\r\n')
    const text = await v.waitFor((t) => responses(t).length === 1)
    expect(text).toMatch(/^HTTP\/1\.1 502 /)
    expect(text).not.toContain('abc')
    expect(b.vhosts.stats.http.badGateway).toBe(1)
  })

  it('answers our own 100 Continue once, then passes the body and the service\'s answer', async () => {
    const b = await bed()
    const a = await startHttpService('a')
    b.add(http('a', ['a.example.test']), a.port)
    const v = await visitor(b.port)
    v.socket.write('POST /c HTTP/1.1\r\nHost: a.example.test\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n')
    await v.waitFor((t) => t.includes('100 Continue\r\n\r\n'))
    v.socket.write('data')
    const text = await v.waitFor((t) => responses(t.replace('HTTP/1.1 100 Continue\r\n\r\n', '')).length === 1)
    expect(text.match(/100 Continue/g)).toHaveLength(1)
    const [reply] = responses(text.replace('HTTP/1.1 100 Continue\r\n\r\n', ''))
    expect(seen(reply?.body ?? '{}')).toMatchObject({ url: '/c', bodyBytes: 4 })
    expect(seen(reply?.body ?? '{}').headers.expect).toBeUndefined()
  })
})

describe('vhost fast path: timers', () => {
  it('closes a keep-alive connection idle for the keep-alive timeout after each request, and answers 408 to a head not finished in time', async () => {
    const b = await bed()
    const a = await startHttpService('a')
    b.add(http('a', ['a.example.test']), a.port)
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      const v = await visitor(b.port)
      for (let i = 0; i < 2; i++) {
        v.socket.write('GET / HTTP/1.1\r\nHost: a.example.test\r\n\r\n')
        await v.waitFor((t) => responses(t).length === i + 1)
        // Just short of the timeout the connection is still open and serves the next request.
        await vi.advanceTimersByTimeAsync(VHOST_KEEPALIVE_TIMEOUT_MS - 1_000)
        expect(v.socket.destroyed).toBe(false)
      }
      await vi.advanceTimersByTimeAsync(1_000)
      await v.closed
      expect(responses(v.text())).toHaveLength(2)

      const slow = await visitor(b.port)
      slow.socket.write('GET / HTTP/1.1\r\nHost: a.exa')
      await vi.advanceTimersByTimeAsync(VHOST_HEADERS_TIMEOUT_MS)
      await slow.closed
      expect(slow.text()).toMatch(/^HTTP\/1\.1 408 /)
    } finally {
      vi.useRealTimers()
    }
  })
})

describe('vhost fast path: routes whose service gets a PROXY header per stream', () => {
  /** A keep-alive service answering every request with its connection's number; counts closes. */
  async function numberedService (): Promise<{ port: number, closed: () => number }> {
    let closed = 0
    let n = 0
    const svc = await startServer((socket) => {
      const id = ++n
      socket.once('close', () => { closed++ })
      let buf = ''
      socket.on('data', (c: Buffer) => {
        buf += c.toString('latin1')
        for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
          buf = buf.slice(end + 4)
          socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${String(id).length}\r\n\r\n${id}`)
        }
      })
    })
    return { port: svc.port, closed: () => closed }
  }

  it('keeps a stream per visitor connection, never shared, and closes a kept one when the proxy is taken out of service', async () => {
    const svc = await numberedService()
    const b = await bed()
    const proxy = b.add(http('pp', ['pp.test'], { proxyProtocol: true }), svc.port)
    const get = 'GET / HTTP/1.1\r\nHost: pp.test\r\n\r\n'
    const one = await visitor(b.port)
    one.socket.write(get)
    await one.waitFor((t) => responses(t).length === 1)
    one.socket.write(get)
    await one.waitFor((t) => responses(t).length === 2)
    const two = await visitor(b.port)
    two.socket.write(get)
    await two.waitFor((t) => responses(t).length === 1)
    // The first visitor's two requests shared a stream; the second visitor got its own, though the first's sat idle.
    expect(responses(one.text()).map((r) => r.body)).toEqual(['1', '1'])
    expect(responses(two.text()).map((r) => r.body)).toEqual(['2'])
    expect(svc.closed()).toBe(0)
    // Taken out by its health check: the idle kept streams close now, while both visitors stay connected.
    proxy.setHealthy?.(false)
    await vi.waitFor(() => { expect(svc.closed()).toBe(2) }, { timeout: 5_000 })
    expect(one.socket.destroyed || two.socket.destroyed).toBe(false)
  })
})
