// frp's four HTTP bridge plugins, one implementation: http2http and http2https take plain HTTP
// from visitors, https2http and https2https end TLS first (crtPath/keyPath, or a self-signed
// certificate; HTTP/2 when enableHTTP2 and the visitor offers it); all send each request to
// localAddr (over TLS for *2https, whose certificate is not checked, as in frp) with
// hostHeaderRewrite and requestHeaders.set applied. The TLS ones add the visitor to
// X-Forwarded-For and set X-Forwarded-Host and X-Forwarded-Proto (https), and answer 421 when
// the Host differs from the TLS server name, as frp does.
import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'
import type { Duplex } from 'node:stream'
import type { TLSSocket } from 'node:tls'
import type { PluginConfig } from '../../shared/config/index.js'
import { formatHostPort } from '../../shared/net/index.js'
import { answer, endToEnd, forward, forwardUpgrade, hostOf, upstreamAgent, type Upstream } from './forward-http.js'
import { acceptTls, closeServer, plainServer, serveHttp, serveTls, tlsServer, visitorOf, type AnyRequest, type AnyResponse } from './http-serve.js'
import type { ClientPlugin, PluginContext } from './plugin.js'
import { pluginSecureContext } from './tls-context.js'

type BridgeConfig = Extract<PluginConfig, { type: 'http2http' | 'http2https' | 'https2http' | 'https2https' }>

/** `host` of a Host header or TLS name, lower-case, without port or brackets. */
function bareHost (host: string): string {
  const h = host.trim().toLowerCase()
  const v6 = /^\[([^\]]+)\]/.exec(h)
  if (v6 !== null) return v6[1] ?? ''
  return h.replace(/:\d*$/, '').replace(/\.$/, '')
}

export function createHttpBridge (config: BridgeConfig, ctx: PluginContext): ClientPlugin {
  const tlsIn = config.type === 'https2http' || config.type === 'https2https'
  const { host, port } = config.localAddr
  const upstream: Upstream = {
    secure: config.type === 'http2https' || config.type === 'https2https',
    host,
    port,
    servername: config.hostHeaderRewrite !== '' ? bareHost(config.hostHeaderRewrite) : isIP(host) === 0 ? host : undefined,
  }
  const agent = upstreamAgent(upstream.secure)
  const target = formatHostPort(host, port)

  /** The headers and Host the local service gets for `req`. */
  const rewrite = (req: AnyRequest): { headers: ReturnType<typeof endToEnd>, host: string } => {
    const headers = endToEnd(req.headers)
    const inHost = hostOf(req)
    if (tlsIn) {
      const visitor = visitorOf(req)
      const prior = req.headers['x-forwarded-for']
      const before = Array.isArray(prior) ? prior.join(', ') : prior
      if (visitor !== '') headers['x-forwarded-for'] = before === undefined || before === '' ? visitor : `${before}, ${visitor}`
      if (inHost !== '') headers['x-forwarded-host'] = inHost
      headers['x-forwarded-proto'] = 'https'
    }
    for (const [name, value] of Object.entries(config.requestHeaders)) headers[name.toLowerCase()] = value
    return { headers, host: config.hostHeaderRewrite !== '' ? config.hostHeaderRewrite : inHost !== '' ? inHost : target }
  }

  const onRequest = (req: AnyRequest, res: AnyResponse): void => {
    if (tlsIn) {
      const sni = (req.socket as TLSSocket).servername
      if (typeof sni === 'string' && sni !== '' && bareHost(sni) !== bareHost(hostOf(req))) {
        answer(res, 421, 'the Host does not match the TLS server name')
        return
      }
    }
    const { headers, host: hostHeader } = rewrite(req)
    forward(req, res, upstream, agent, req.url ?? '/', headers, hostHeader, (err) => { ctx.events.dialFailed(target, err, visitorOf(req)) })
  }
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const { headers, host: hostHeader } = rewrite(req)
    forwardUpgrade(req, socket, head, upstream, agent, req.url ?? '/', headers, hostHeader, (err) => { ctx.events.dialFailed(target, err, visitorOf(req)) })
  }

  if (!tlsIn) {
    const server = plainServer(onRequest)
    server.on('upgrade', onUpgrade)
    return {
      type: config.type,
      handle (conn) {
        if (conn.stream.closed) { conn.done(); return }
        conn.stream.accept()
        serveHttp(server, conn)
      },
      close () {
        agent.destroy()
        closeServer(server)
      },
    }
  }

  const tls = config
  const { context, selfSigned } = pluginSecureContext(tls.certificate, ctx.serverNames)
  if (selfSigned) ctx.log.info({ plugin: config.type }, 'no crtPath/keyPath: serving a self-signed certificate made at start')
  const alpn = tls.enableHTTP2 ? ['h2', 'http/1.1'] : ['http/1.1']
  const server = tlsServer(onRequest)
  server.on('upgrade', onUpgrade)
  return {
    type: config.type,
    handle (conn) {
      if (conn.stream.closed) { conn.done(); return }
      acceptTls(conn, context, alpn, (socket) => { serveTls(server, socket) }, (why) => { ctx.events.refused('TUN_PLUGIN_REQUEST', why, conn.visitor) }, server)
    },
    close () {
      agent.destroy()
      closeServer(server)
    },
  }
}
