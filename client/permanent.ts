// Which failures end the client (exit 2) instead of a retry with backoff. A wrong token, a
// wrong pinned key (or a man in the middle), a clock outside the relay's window, a plaintext
// setting that differs, and a protocol mismatch cannot heal by retrying. But a refusal the relay
// sent in cleartext is unauthenticated: anyone on the path could forge it, so once this client
// has logged in, a forged packet must not stop it for good; then only refusals inside the
// authenticated handshake message stay permanent, and the rest are retried.
import { HandshakeError, type ErrorCode, type TunnelError } from '../shared/errors.js'

export const PERMANENT_ERROR_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'TUN_AUTH_REFUSED',
  'TUN_SERVER_KEY_MISMATCH',
  'TUN_CLOCK_SKEW',
  'TUN_TRANSPORT_MISMATCH',
  'TUN_PROTOCOL',
  'TUN_PROTOCOL_VERSION',
  'TUN_CLIENT_KEY_REFUSED',
  // The transports (issue 18): wrong proxy credentials, a relay certificate that does not verify,
  // a relay that wants TLS. Final at the first login only (none of them is authenticated).
  'TUN_PROXY_URL_AUTH',
  'TUN_TLS_VERIFY',
  'TUN_TLS_REQUIRED',
])

export function isPermanent (err: TunnelError, everLoggedIn: boolean): boolean {
  if (!PERMANENT_ERROR_CODES.has(err.code)) return false
  if (!everLoggedIn) return true
  if (err instanceof HandshakeError) return err.authenticated
  // Refusals inside the encrypted session (a login result) are authenticated too.
  return err.code === 'TUN_AUTH_REFUSED' || err.code === 'TUN_PROTOCOL_VERSION' || err.code === 'TUN_CLIENT_KEY_REFUSED'
}
