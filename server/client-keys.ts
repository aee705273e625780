// auth.clientKeys of frps.yml as checks: which client keys may log in, as which clientID and with
// which user (frp's prefix). Without entries any client that knows the token may log in; with
// entries only listed keys may, each within what its entry binds. A NAT probe of a clientID
// (`tunnel diag nat-timeout`) counts as that clientID.
import type { ClientKeyRule } from '../shared/config/index.js'
import { isNatProbeOf } from '../shared/diag/index.js'
import { encodeKey } from '../shared/transport/index.js'

export interface ClientKeyPolicy {
  /** Whether `key` may log in as `clientId` (checked in the handshake). */
  allows: (key: Uint8Array, clientId: string) => boolean
  /** Whether `key` may log in with `user` (checked at the login, which carries the user). */
  allowsUser: (key: Uint8Array, user: string) => boolean
}

/** The policy of a list of rules; undefined for an empty list (any key). */
export function clientKeyPolicy (rules: readonly ClientKeyRule[]): ClientKeyPolicy | undefined {
  if (rules.length === 0) return undefined
  const byKey = new Map<string, ClientKeyRule[]>()
  for (const r of rules) {
    const k = encodeKey(r.publicKey)
    byKey.set(k, [...(byKey.get(k) ?? []), r])
  }
  const rulesOf = (key: Uint8Array): ClientKeyRule[] => byKey.get(encodeKey(key)) ?? []
  return {
    allows: (key, clientId) => rulesOf(key).some((r) => r.clientID === undefined || r.clientID === clientId || isNatProbeOf(clientId, r.clientID)),
    allowsUser: (key, user) => rulesOf(key).some((r) => r.user === undefined || r.user === user),
  }
}
