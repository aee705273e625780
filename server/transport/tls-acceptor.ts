// The relay's TLS layer (frp's transport.tls on frps): the certificate from certFile/keyFile or
// a self-signed one made with the first TLS client, and, with trustedCaFile, client certificates required
// (mutual TLS). A TLS session runs over the TCP socket or over a WebSocket stream.
import { readFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import type { SecureContext, TLSSocket } from 'node:tls'
import type { ServerTlsConfig } from '../../shared/config/index.js'
import { TunnelError } from '../../shared/errors.js'
import { nodeTls } from '../../shared/lazy-builtins.js'
import { selfSignedCertificate } from './self-signed.js'

export class TlsAcceptor {
  /** The context; without certFile it is made with the first TLS client (see #secureContext). */
  #context: SecureContext | undefined
  readonly #mutual: boolean
  readonly #ca: string | undefined
  /** True when the certificate is generated here (no certFile). */
  readonly selfSigned: boolean

  constructor (config: ServerTlsConfig) {
    try {
      this.#ca = config.trustedCaFile === null ? undefined : readFileSync(config.trustedCaFile, 'utf8')
      if (config.certFile !== null && config.keyFile !== null) {
        const cert = readFileSync(config.certFile, 'utf8')
        const key = readFileSync(config.keyFile, 'utf8')
        this.#context = nodeTls().createSecureContext({ cert, key, ...(this.#ca === undefined ? {} : { ca: this.#ca }) })
        this.selfSigned = false
      } else {
        this.selfSigned = true
        // With trustedCaFile TLS is deliberate: the CA file is checked at start, with its context.
        if (this.#ca !== undefined) this.#secureContext()
      }
    } catch (err) {
      throw new TunnelError('TUN_CONFIG_INVALID', `transport.tls: cannot use the certificate files: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
    }
    this.#mutual = config.trustedCaFile !== null
  }

  /**
   * The certificate files' context, or a self-signed one made now: a relay with neither
   * certificate files nor trustedCaFile whose clients never use TLS never makes one (an EC key, a certificate and an OpenSSL context, about 1.5 MiB; issue 21).
   * Clients pin the relay's Noise key, not its TLS certificate, so when it is made does not matter.
   */
  #secureContext (): SecureContext {
    if (this.#context === undefined) {
      const { cert, key } = selfSignedCertificate()
      this.#context = nodeTls().createSecureContext({ cert, key, ...(this.#ca === undefined ? {} : { ca: this.#ca }) })
    }
    return this.#context
  }

  /** Runs the TLS handshake on `stream` (whose first bytes are the ClientHello); resolves once it is done. */
  accept (stream: Socket, signal: AbortSignal): Promise<TLSSocket> {
    const tls = new (nodeTls().TLSSocket)(stream, { isServer: true, secureContext: this.#secureContext(), requestCert: this.#mutual, rejectUnauthorized: this.#mutual })
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
