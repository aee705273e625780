// frp's socks5 plugin: each visitor speaks SOCKS5 (RFC 1928) to the client, which connects to the
// asked host (IPv4, IPv6 or a domain name, resolved here) and joins the two. CONNECT only; with
// username/password the visitor must pass RFC 1929 first. The whole handshake must arrive within
// PLUGIN_HANDSHAKE_TIMEOUT_MS. An open one (no credentials) lets anyone who reaches the public
// port into every network this client reaches: the config loader warns about it.
import { normalizeAddress } from '../../shared/net/index.js'
import { ResetCode } from '../../shared/wire/index.js'
import { CredentialCheck } from './credentials.js'
import type { ClientPlugin, PluginConn, PluginFactory } from './plugin.js'
import { AUTH_VERSION, MAX_SOCKS_MESSAGE_BYTES, Method, Reply, SOCKS_VERSION, encodeReply, parseGreeting, parseRequest, parseUserPassword, replyForError, type Parsed } from './socks5-parse.js'
import { dial, refuse, splice } from './splice.js'
import { PLUGIN_HANDSHAKE_TIMEOUT_MS, StreamReader } from './stream-reader.js'

/** Reads one message with `parse`; undefined after answering and closing on a bad one. */
async function read<T> (reader: StreamReader, parse: (b: Buffer) => Parsed<T>, onError: (error: string, reply: number | undefined) => void): Promise<T | undefined> {
  let result: Parsed<T> = { need: 1 }
  await reader.until((b) => { result = parse(b); return !('need' in result) }, MAX_SOCKS_MESSAGE_BYTES)
  const r = result as Parsed<T>
  if ('error' in r) { onError(r.error, r.reply); return undefined }
  if ('need' in r) return undefined // until() resolved only for a result
  reader.take(r.used)
  return r.ok
}

export const createSocks5: PluginFactory<'socks5'> = (config, ctx): ClientPlugin => {
  const check = config.credentials === null ? undefined : new CredentialCheck(config.credentials)

  async function serve (conn: PluginConn, reader: StreamReader, handshakeDone: () => void): Promise<void> {
    const { stream } = conn
    const bad = (reason: string, answer?: Buffer): void => {
      ctx.events.refused('TUN_PLUGIN_REQUEST', reason, conn.visitor)
      if (answer !== undefined) stream.write(answer)
      stream.end()
      reader.detach()
      conn.done()
    }
    const greeting = await read(reader, parseGreeting, (error) => { bad(error) })
    if (greeting === undefined) return
    const method = check === undefined ? Method.NO_AUTH : Method.USER_PASSWORD
    if (!greeting.methods.includes(method)) {
      const why = check === undefined ? 'the visitor offers only authentication this open proxy does not ask for' : 'the visitor offers no user/password authentication'
      if (check !== undefined) ctx.events.refused('TUN_PLUGIN_AUTH', why, conn.visitor)
      else ctx.events.refused('TUN_PLUGIN_REQUEST', why, conn.visitor)
      stream.write(Buffer.from([SOCKS_VERSION, Method.NONE_ACCEPTABLE]))
      stream.end()
      reader.detach()
      conn.done()
      return
    }
    stream.write(Buffer.from([SOCKS_VERSION, method]))
    if (check !== undefined) {
      const given = await read(reader, parseUserPassword, (error) => { bad(error, Buffer.from([AUTH_VERSION, 1])) })
      if (given === undefined) return
      if (!check.matches(given.user, given.password)) {
        ctx.events.refused('TUN_PLUGIN_AUTH', 'wrong user name or password', conn.visitor)
        stream.write(Buffer.from([AUTH_VERSION, 1]))
        stream.end()
        reader.detach()
        conn.done()
        return
      }
      stream.write(Buffer.from([AUTH_VERSION, 0]))
    }
    const target = await read(reader, parseRequest, (error, reply) => { bad(error, encodeReply(reply ?? Reply.GENERAL_FAILURE)) })
    if (target === undefined) return
    handshakeDone() // the dial has its own deadline
    const where = target.addressType === 0x04 ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`
    let socket
    try {
      socket = await dial({ host: target.host, port: target.port })
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err))
      ctx.events.dialFailed(where, e, conn.visitor)
      if (!stream.closed) {
        stream.write(encodeReply(replyForError(e)))
        stream.end()
      }
      reader.detach()
      conn.done()
      return
    }
    if (stream.closed) { socket.destroy(); reader.detach(); conn.done(); return }
    const bound = { address: normalizeAddress(socket.localAddress ?? '0.0.0.0'), port: socket.localPort ?? 0 }
    stream.write(encodeReply(Reply.SUCCEEDED, bound))
    const { rest, ended } = reader.detach()
    splice(conn, socket, { rest, ended, limiter: ctx.limiter })
  }

  return {
    type: 'socks5',
    handle (conn) {
      const reader = new StreamReader(conn.stream)
      conn.stream.accept()
      const deadline = setTimeout(() => {
        ctx.events.refused('TUN_PLUGIN_REQUEST', `the handshake did not finish within ${PLUGIN_HANDSHAKE_TIMEOUT_MS} ms`, conn.visitor)
        refuse(conn, ResetCode.CANCEL)
      }, PLUGIN_HANDSHAKE_TIMEOUT_MS)
      serve(conn, reader, () => { clearTimeout(deadline) }).catch(() => {
        // The stream closed or ended mid-handshake, or a message was too long.
        if (!conn.stream.closed) ctx.events.refused('TUN_PLUGIN_REQUEST', 'the visitor ended the connection in the middle of the handshake', conn.visitor)
        refuse(conn, ResetCode.CANCEL)
      }).finally(() => { clearTimeout(deadline) })
    },
    close () {},
  }
}
