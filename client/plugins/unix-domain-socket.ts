// frp's unix_domain_socket plugin: each visitor is connected to a Unix domain socket (a Docker
// API socket, a service that listens on a path) instead of localIP:localPort, with a PROXY header
// first when transport.proxyProtocolVersion asks for one. A socket that cannot be reached resets
// the visitor, as a refused local port does.
import type { ClientPlugin, PluginFactory } from './plugin.js'
import { dial, proxyHeader, refuse, splice } from './splice.js'

export const createUnixDomainSocket: PluginFactory<'unix_domain_socket'> = (config, ctx): ClientPlugin => ({
  type: 'unix_domain_socket',
  handle (conn) {
    dial({ path: config.unixPath }).then((socket) => {
      if (conn.stream.closed) { socket.destroy(); conn.done(); return }
      conn.stream.accept()
      splice(conn, socket, { first: proxyHeader(conn, ctx.proxyProtocolVersion), limiter: ctx.limiter })
    }, (err: Error) => {
      ctx.events.dialFailed(`unix:${config.unixPath}`, err, conn.visitor)
      refuse(conn)
    })
  },
  close () {},
})
