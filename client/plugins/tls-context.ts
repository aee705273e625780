// The TLS identity a plugin shows visitors: the certificate and key read from crtPath/keyPath at
// load (checked there), or a self-signed one made now for the proxy's names (frp does the same).
import type { SecureContext } from 'node:tls'
import type { PluginCertificate } from '../../shared/config/index.js'
import { nodeTls } from '../../shared/lazy-builtins.js'
import { selfSignedCertificate } from './self-signed.js'

export function pluginSecureContext (certificate: PluginCertificate | null, serverNames: readonly string[]): { context: SecureContext, selfSigned: boolean } {
  if (certificate !== null) {
    return { context: nodeTls().createSecureContext({ cert: certificate.cert, key: Buffer.from(certificate.key.reveal()) }), selfSigned: false }
  }
  const made = selfSignedCertificate(serverNames)
  return { context: nodeTls().createSecureContext({ cert: made.cert, key: made.key }), selfSigned: true }
}
