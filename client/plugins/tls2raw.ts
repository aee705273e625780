// frp's tls2raw plugin: ends the visitor's TLS (crtPath/keyPath, or a self-signed certificate)
// and connects the plain bytes to localAddr, a PROXY header first when
// transport.proxyProtocolVersion asks for one.
import { formatHostPort } from '../../shared/net/index.js'
import { acceptTls } from './http-serve.js'
import type { ClientPlugin, PluginFactory } from './plugin.js'
import { dial, pipeBoth, proxyHeader } from './splice.js'
import { pluginSecureContext } from './tls-context.js'

export const createTls2Raw: PluginFactory<'tls2raw'> = (config, ctx): ClientPlugin => {
  const { context, selfSigned } = pluginSecureContext(config.certificate, ctx.serverNames)
  if (selfSigned) ctx.log.info({ plugin: config.type }, 'no crtPath/keyPath: serving a self-signed certificate made at start')
  const { host, port } = config.localAddr
  const target = formatHostPort(host, port)
  return {
    type: 'tls2raw',
    handle (conn) {
      if (conn.stream.closed) { conn.done(); return }
      acceptTls(conn, context, undefined, (tls) => {
        dial({ host, port }).then((socket) => {
          if (tls.destroyed) { socket.destroy(); return }
          const header = proxyHeader(conn, ctx.proxyProtocolVersion)
          if (header !== undefined) socket.write(header)
          pipeBoth(tls, socket)
        }, (err: Error) => {
          ctx.events.dialFailed(target, err, conn.visitor)
          tls.destroy()
        })
      }, (why) => { ctx.events.refused('TUN_PLUGIN_REQUEST', why, conn.visitor) })
    },
    close () {},
  }
}
