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
  /** Whether one entry of `key` admits both `clientId` and `user` (checked at the login, which carries the user). */
  allowsLogin: (key: Uint8Array, clientId: string, user: string) => boolean
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
  const idMatches = (r: ClientKeyRule, clientId: string): boolean => r.clientID === undefined || r.clientID === clientId || isNatProbeOf(clientId, r.clientID)
  return {
    allows: (key, clientId) => rulesOf(key).some((r) => idMatches(r, clientId)),
    allowsLogin: (key, clientId, user) => rulesOf(key).some((r) => idMatches(r, clientId) && (r.user === undefined || r.user === user)),
  }
}
