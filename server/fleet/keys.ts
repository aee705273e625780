// Where the fleet's facts live in etcd (under fleet.etcd.prefix) and the owner's lease id.
//   relays/<nodeName>                  a relay's record (JSON), on the relay's lease
//   own/client/<clientID>              the client key (identity) that owns a clientID
//   own/name/<proxy name>              ... a proxy name
//   own/port/<tcp|udp>/<port>          ... a public port
//   own/domain/<http|https>/<domain>   ... a vhost domain
//   attach/<owner hash>/<nodeName>     a relay serves a session of that owner, on the relay's lease
// Every own/ key is attached to its owner's lease, whose id is derived from the owner: every relay
// that serves the owner keeps that one lease alive, and when none does (the client is gone from
// the whole fleet) it expires after its TTL, with everything the owner held.
import { createHash } from 'node:crypto'

export type OwnedKind = 'client' | 'name' | 'port' | 'domain'

/** One thing that has an owner in the fleet: `id` is `tcp/8080`, `http/example.com`, a name, ... */
export interface OwnedKey {
  readonly kind: OwnedKind
  readonly id: string
}

export const keyText = (k: OwnedKey): string => `own/${k.kind}/${k.id}`
export const relayKey = (nodeName: string): string => `relays/${nodeName}`
export const attachPrefix = (identity: string): string => `attach/${ownerHash(identity)}/`
export const attachKey = (identity: string, nodeName: string): string => `${attachPrefix(identity)}${nodeName}`

/** A short, key-safe digest of an owner's identity (its public key). */
export function ownerHash (identity: string): string {
  return createHash('sha256').update(identity).digest('base64url').slice(0, 22)
}

/** Lease ids are int64 > 0; ours use 62 bits, so they never collide with the sign or with 0. */
const LEASE_ID_MASK = (1n << 62n) - 1n

/**
 * The lease id of an owner in one fleet (`prefix`): the same on every relay, so they all keep one
 * lease alive for it. 62 bits of SHA-256: two owners colliding is as likely as guessing a key.
 */
export function ownerLeaseId (prefix: string, identity: string): string {
  const digest = createHash('sha256').update(`${prefix}\0lease\0${identity}`).digest()
  const id = digest.readBigUInt64BE(0) & LEASE_ID_MASK
  return (id === 0n ? 1n : id).toString()
}
