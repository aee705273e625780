// The relay's TLS layer (frp's transport.tls on frps): the certificate from certFile/keyFile or
// a self-signed one made at start, and, with trustedCaFile, client certificates required
// (mutual TLS). A TLS session runs over the TCP socket or over a WebSocket stream.
import { readFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls'
import type { ServerTlsConfig } from '../../shared/config/index.js'
import { TunnelError } from '../../shared/errors.js'
import { selfSignedCertificate } from './self-signed.js'

export class TlsAcceptor {
  readonly #context: SecureContext
  readonly #mutual: boolean
  /** True when the certificate was generated at start (no certFile). */
  readonly selfSigned: boolean

  constructor (config: ServerTlsConfig) {
    let cert: string
    let key: string
    try {
      if (config.certFile !== null && config.keyFile !== null) {
        cert = readFileSync(config.certFile, 'utf8')
        key = readFileSync(config.keyFile, 'utf8')
        this.selfSigned = false
      } else {
        ({ cert, key } = selfSignedCertificate())
        this.selfSigned = true
      }
      const ca = config.trustedCaFile === null ? undefined : readFileSync(config.trustedCaFile, 'utf8')
      this.#context = createSecureContext({ cert, key, ...(ca === undefined ? {} : { ca }) })
    } catch (err) {
      throw new TunnelError('TUN_CONFIG_INVALID', `transport.tls: cannot use the certificate files: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
    }
    this.#mutual = config.trustedCaFile !== null
  }

  /** Runs the TLS handshake on `stream` (whose first bytes are the ClientHello); resolves once it is done. */
  accept (stream: Socket, signal: AbortSignal): Promise<TLSSocket> {
    const tls = new TLSSocket(stream, { isServer: true, secureContext: this.#context, requestCert: this.#mutual, rejectUnauthorized: this.#mutual })
    return new Promise((resolve, reject) => {
      const done = (err?: Error): void => {
        tls.off('secure', onSecure)
        tls.off('error', done)
        tls.off('close', onClose)
        signal.removeEventListener('abort', onAbort)
        if (err === undefined) { resolve(tls); return }
        tls.destroy()
        reject(err)
      }
      const onSecure = (): void => { done() }
      const onClose = (): void => { done(new Error('closed during the TLS handshake')) }
      const onAbort = (): void => { done(new Error('no TLS handshake within transport.handshakeTimeout')) }
      tls.once('secure', onSecure)
      tls.once('error', done)
      tls.once('close', onClose)
      if (signal.aborted) { onAbort(); return }
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }
}
