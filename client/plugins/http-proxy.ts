// frp's http_proxy plugin: an HTTP proxy into the client's network. `CONNECT host:port` (what
// curl --proxy, browsers and git use for HTTPS) is read here, bounded in size and time, checked
// (Proxy-Authorization: Basic, in constant time) and answered with a tunnel to the target, bridged
// with back-pressure and half-close. Any other request (absolute-form `GET http://host/path`) goes
// to a node:http server that forwards it. An open one (no credentials) lets anyone who reaches the
// public port into every network this client reaches: the config loader warns about it.
import type { Agent, IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { parseHostPort } from '../../shared/net/index.js'
import { ResetCode } from '../../shared/wire/index.js'
import { CredentialCheck } from './credentials.js'
import { answer, endToEnd, forward, forwardUpgrade, upstreamAgent } from './forward-http.js'
import { closeServer, MAX_PLUGIN_HEADER_BYTES, plainServer, serveHttp, visitorOf } from './http-serve.js'
import type { ClientPlugin, PluginConn, PluginFactory } from './plugin.js'
import { dial, pipeBoth, refuse, splice } from './splice.js'
import { PLUGIN_HANDSHAKE_TIMEOUT_MS, StreamReader } from './stream-reader.js'

/** What a CONNECT head says. */
export interface ConnectHead {
  /** host:port as sent. */
  authority: string
  host: string
  port: number
  /** Proxy-Authorization, when sent. */
  authorization: string | undefined
  /** Bytes of the head, its blank line included. */
  length: number
}

export type HeadParse = { need: true } | { ok: ConnectHead } | { status: number, error: string }

const CONNECT = Buffer.from('CONNECT ')

/** Whether `b` (the first bytes of a connection) is, or may still become, a CONNECT request. */
export function startsConnect (b: Buffer): boolean | undefined {
  const n = Math.min(b.length, CONNECT.length)
  const same = b.subarray(0, n).toString('latin1').toUpperCase() === CONNECT.subarray(0, n).toString('latin1')
  if (!same) return false
  return n === CONNECT.length ? true : undefined
}

/** Parses a CONNECT request head (RFC 9110 9.3.6) from the bytes read so far. */
export function parseConnectHead (b: Buffer, maxBytes = MAX_PLUGIN_HEADER_BYTES): HeadParse {
  const end = b.indexOf('\r\n\r\n')
  if (end === -1) return b.length > maxBytes ? { status: 431, error: `the request head is longer than ${maxBytes} bytes` } : { need: true }
  if (end + 4 > maxBytes) return { status: 431, error: `the request head is longer than ${maxBytes} bytes` }
  const lines = b.subarray(0, end).toString('latin1').split('\r\n')
  const m = /^CONNECT ([^\s]+) HTTP\/1\.[01]$/i.exec(lines[0] ?? '')
  if (m === null) return { status: 400, error: 'the request line is not `CONNECT host:port HTTP/1.1`' }
  const authority = m[1] ?? ''
  const target = parseHostPort(authority)
  if ('error' in target) return { status: 400, error: `the CONNECT target ${authority.slice(0, 100)} is not host:port (${target.error})` }
  let authorization: string | undefined
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    if (colon <= 0 || /[\s]/.test(line.slice(0, colon))) return { status: 400, error: 'a header line is malformed' }
    if (line.slice(0, colon).toLowerCase() === 'proxy-authorization') authorization = line.slice(colon + 1).trim()
  }
  return { ok: { authority, host: target.host, port: target.port, authorization, length: end + 4 } }
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 407: 'Proxy Authentication Required', 408: 'Request Timeout', 431: 'Request Header Fields Too Large', 502: 'Bad Gateway', 504: 'Gateway Timeout' }
const CHALLENGE = 'Basic realm="tunnel", charset="UTF-8"'

/** A complete response with a short text body that closes the connection. */
export function closingResponse (status: number, text: string): Buffer {
  const body = `${text}\n`
  const extra = status === 407 ? `Proxy-Authenticate: ${CHALLENGE}\r\n` : ''
  return Buffer.from(`HTTP/1.1 ${status} ${REASONS[status] ?? ''}\r\n${extra}Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
}

export const createHttpProxy: PluginFactory<'http_proxy'> = (config, ctx): ClientPlugin => {
  const check = config.credentials === null ? undefined : new CredentialCheck(config.credentials)
  const agent: Agent = upstreamAgent(false)
  const authorized = (header: string | undefined): boolean => check === undefined || check.matchesBasic(header)

  /** Absolute-form requests (`GET http://host/path`), WebSocket upgrades, and CONNECT after other requests on one connection. */
  const server = plainServer((req: IncomingMessage, res: ServerResponse) => {
    if (!authorized(req.headers['proxy-authorization'])) {
      ctx.events.refused('TUN_PLUGIN_AUTH', 'wrong or missing Proxy-Authorization', visitorOf(req))
      answer(res, 407, 'proxy authentication required', { 'proxy-authenticate': CHALLENGE })
      return
    }
    const target = absoluteTarget(req.url)
    if (target === undefined) {
      answer(res, 400, 'this is an HTTP proxy: send absolute-form requests (GET http://host/path) or CONNECT host:port')
      return
    }
    forward(req, res, { secure: false, host: target.hostname.replace(/^\[|\]$/g, ''), port: Number(target.port === '' ? 80 : target.port) }, agent, target.pathname + target.search, endToEnd(req.headers), target.host, (err) => {
      ctx.events.dialFailed(target.host, err, visitorOf(req))
    })
  })
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const target = absoluteTarget(req.url)
    if (!authorized(req.headers['proxy-authorization']) || target === undefined) {
      socket.end(closingResponse(target === undefined ? 400 : 407, 'not proxied'))
      return
    }
    forwardUpgrade(req, socket, head, { secure: false, host: target.hostname.replace(/^\[|\]$/g, ''), port: Number(target.port === '' ? 80 : target.port) }, agent, target.pathname + target.search, endToEnd(req.headers), target.host, () => {})
  })
  server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {})
    const target = parseHostPort(req.url ?? '')
    if (!authorized(req.headers['proxy-authorization'])) {
      ctx.events.refused('TUN_PLUGIN_AUTH', 'wrong or missing Proxy-Authorization', visitorOf(req))
      socket.end(closingResponse(407, 'proxy authentication required'))
      return
    }
    if ('error' in target) { socket.end(closingResponse(400, 'CONNECT needs host:port')); return }
    dial({ host: target.host, port: target.port }).then((upstream) => {
      socket.write('HTTP/1.1 200 Connection established\r\n\r\n')
      if (head.length > 0) upstream.write(head)
      pipeBoth(socket, upstream)
    }, (err: Error) => { socket.end(closingResponse(502, `cannot connect to ${req.url ?? ''}: ${err.message}`)) })
  })

  async function serve (conn: PluginConn, reader: StreamReader, handshakeDone: () => void): Promise<void> {
    const { stream } = conn
    let connect: boolean | undefined
    await reader.until((b) => (connect = startsConnect(b)) !== undefined, MAX_PLUGIN_HEADER_BYTES)
    if (connect !== true) {
      handshakeDone()
      serveHttp(server, conn, reader.detach())
      return
    }
    const parsed: { head: HeadParse } = { head: { need: true } }
    await reader.until((b) => !('need' in (parsed.head = parseConnectHead(b))), MAX_PLUGIN_HEADER_BYTES + 1)
    handshakeDone()
    const { head } = parsed
    const fail = (status: number, text: string): void => {
      stream.write(closingResponse(status, text))
      stream.end()
      reader.detach()
      conn.done()
    }
    if ('status' in head) {
      ctx.events.refused('TUN_PLUGIN_REQUEST', head.error, conn.visitor)
      fail(head.status, head.error)
      return
    }
    if ('need' in head) return // until() resolved only with a result
    const { ok } = head
    reader.take(ok.length)
    if (!authorized(ok.authorization)) {
      ctx.events.refused('TUN_PLUGIN_AUTH', ok.authorization === undefined ? 'no Proxy-Authorization' : 'wrong Proxy-Authorization', conn.visitor)
      fail(407, 'proxy authentication required')
      return
    }
    let socket
    try {
      socket = await dial({ host: ok.host, port: ok.port })
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err))
      ctx.events.dialFailed(ok.authority, e, conn.visitor)
      if (!stream.closed) fail((e as NodeJS.ErrnoException).code === 'TUN_LOCAL_DIAL' ? 504 : 502, `cannot connect to ${ok.authority}`)
      else { reader.detach(); conn.done() }
      return
    }
    if (stream.closed) { socket.destroy(); reader.detach(); conn.done(); return }
    stream.write(Buffer.from('HTTP/1.1 200 Connection established\r\n\r\n'))
    const { rest, ended } = reader.detach()
    splice(conn, socket, { rest, ended, limiter: ctx.limiter })
  }

  return {
    type: 'http_proxy',
    handle (conn) {
      const reader = new StreamReader(conn.stream)
      conn.stream.accept()
      const deadline = setTimeout(() => {
        ctx.events.refused('TUN_PLUGIN_REQUEST', `no complete request within ${PLUGIN_HANDSHAKE_TIMEOUT_MS} ms`, conn.visitor)
        refuse(conn, ResetCode.CANCEL)
      }, PLUGIN_HANDSHAKE_TIMEOUT_MS)
      serve(conn, reader, () => { clearTimeout(deadline) }).catch(() => {
        if (!conn.stream.closed) {
          ctx.events.refused('TUN_PLUGIN_REQUEST', 'the request was cut short', conn.visitor)
          conn.stream.write(closingResponse(400, 'the request was cut short'))
          conn.stream.end()
          reader.detach()
          conn.done()
          return
        }
        refuse(conn, ResetCode.CANCEL)
      }).finally(() => { clearTimeout(deadline) })
    },
    close () {
      agent.destroy()
      closeServer(server)
    },
  }
}

/** An absolute-form http:// target, or undefined. */
function absoluteTarget (url: string | undefined): URL | undefined {
  if (url === undefined || !/^http:\/\//i.test(url)) return undefined
  try {
    const u = new URL(url)
    return u.protocol === 'http:' && u.hostname !== '' ? u : undefined
  } catch {
    return undefined
  }
}
