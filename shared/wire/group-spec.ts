// What a proxy spec may carry for load-balancing groups, health checks and relay plugins, and
// the tcpmux proxy type (issue 17). Kept apart from proxy-spec.ts so the group fields read as
// one block: a proxy joins `group` on the relay when it knows `groupKey` (frp's
// loadBalancer.group / groupKey); `healthy` is present when the client runs a health check for
// it (false: not served until the client says otherwise with proxyHealth); `metas` are frp's
// per-proxy metadatas, sent on to the relay's plugins and nowhere else.
import { z } from 'zod'

/** Bounds of the group fields (frp has none; the config schema has the same). */
export const GROUP_LIMITS = { nameChars: 128, keyChars: 256 } as const
/** Bounds of frp's metadatas (login and per proxy; the config schema has the same). */
export const METAS_LIMITS = { entries: 64, keyChars: 128, valueChars: 1024 } as const

export const metasSchema = z.record(z.string().min(1).max(METAS_LIMITS.keyChars), z.string().max(METAS_LIMITS.valueChars))
  .refine((m) => Object.keys(m).length <= METAS_LIMITS.entries, { error: `at most ${METAS_LIMITS.entries} entries` })

/** Every proxy type may carry its metadatas (for the relay's plugins). */
export const metasField = { metas: metasSchema.optional() }

/** Fields of the proxy types that may be members of a group (tcp, http, tcpmux). */
export const memberFields = {
  group: z.string().min(1).max(GROUP_LIMITS.nameChars).optional(),
  /** Secret: travels only inside the encrypted control connection, never logged. */
  groupKey: z.string().max(GROUP_LIMITS.keyChars).optional(),
  /** Present when the client health-checks the proxy: its state at registration. */
  healthy: z.boolean().optional(),
}
