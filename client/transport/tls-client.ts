// The client's TLS layer (frp's transport.tls): over the TCP connection, or inside the WebSocket
// (protocol websocket with tls.enable), or under it (wss). Like frp, the relay's certificate is
// checked only with trustedCaFile (against serverName, default serverAddr); without it the
// relay is authenticated by its Noise key (auth.serverKey) and TLS only disguises the traffic.
import { readFileSync } from 'node:fs'
import { isIP, type Socket } from 'node:net'
import type { ConnectionOptions, TLSSocket } from 'node:tls'
import type { ClientTlsConfig } from '../../shared/config/index.js'
import { TunnelError } from '../../shared/errors.js'
import { nodeTls } from '../../shared/lazy-builtins.js'
import { FRP_TLS_FIRST_BYTE } from '../../shared/net/index.js'

/** OpenSSL and Node codes of a certificate that did not verify (recognised by code, never by text). */
const VERIFY_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'INVALID_CA', 'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_CHAIN_TOO_LONG', 'INVALID_PURPOSE',
])

/** The name the relay's certificate must carry: tls.serverName, else serverAddr. */
export function tlsServerName (tls: ClientTlsConfig, serverAddr: string): string {
  return tls.serverName !== '' ? tls.serverName : serverAddr
}

/** node:tls options for the relay: SNI only for names (never for IP literals), verification only with a CA. */
export function tlsOptions (tls: ClientTlsConfig, serverAddr: string): ConnectionOptions {
  const name = tlsServerName(tls, serverAddr)
  const read = (path: string | null): string | undefined => (path === null ? undefined : readFileSync(path, 'utf8'))
  const ca = read(tls.trustedCaFile)
  const cert = read(tls.certFile)
  const key = read(tls.keyFile)
  return {
    host: name,
    ...(isIP(name) === 0 ? { servername: name } : {}),
    rejectUnauthorized: ca !== undefined,
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
  }
}

/** TLS over `stream`; frp's marker byte first when disableCustomTLSFirstByte is false (not under wss). */
export function tlsConnect (stream: Socket, tls: ClientTlsConfig, serverAddr: string, marker: boolean, signal: AbortSignal): Promise<TLSSocket> {
  let options: ConnectionOptions
  try {
    options = tlsOptions(tls, serverAddr)
  } catch (err) {
    return Promise.reject(new TunnelError('TUN_TLS', `transport.tls: cannot read a certificate file: ${err instanceof Error ? err.message : String(err)}`, { cause: err }))
  }
  if (marker) stream.write(Buffer.from([FRP_TLS_FIRST_BYTE]))
  const socket = nodeTls().connect({ ...options, socket: stream })
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      socket.off('secureConnect', onSecure)
      socket.off('error', done)
      socket.off('close', onClose)
      signal.removeEventListener('abort', onAbort)
      if (err === undefined) { resolve(socket); return }
      socket.destroy()
      reject(tlsError(err, tlsServerName(tls, serverAddr), tls.trustedCaFile))
    }
    const onSecure = (): void => { done() }
    const onClose = (): void => { done(new Error('the connection closed during the TLS handshake')) }
    const onAbort = (): void => { done(new Error('no TLS handshake in time')) }
    socket.once('secureConnect', onSecure)
    socket.once('error', done)
    socket.once('close', onClose)
    if (signal.aborted) { onAbort(); return }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

function tlsError (err: Error, name: string, ca: string | null): TunnelError {
  const code = (err as NodeJS.ErrnoException).code ?? ''
  if (VERIFY_CODES.has(code)) {
    return new TunnelError('TUN_TLS_VERIFY', `the relay's TLS certificate did not verify against transport.tls.trustedCaFile ${ca ?? ''} for the name ${name}: ${err.message} (${code})`, { cause: err })
  }
  return new TunnelError('TUN_TLS', `the TLS handshake with the relay failed: ${err.message}${code === '' ? '' : ` (${code})`}`, { cause: err })
}
