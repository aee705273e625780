// A group's credential (loadBalancer.groupKey): compared in constant time (digests of both
// sides, so neither the length nor the first differing byte shows in the timing), and never
// kept in the clear: a group holds the digest. The identity a group's port or domain is bound
// to: with a key, the group itself (anyone who knows the key may hold it); without one, the
// client key that opened the group (only its own proxies may join).
import { createHash, timingSafeEqual } from 'node:crypto'

export function groupKeyDigest (key: string): Buffer {
  return createHash('sha256').update('tunnel group key\0').update(key, 'utf8').digest()
}

/** Whether `key` is the one whose digest is `digest`, in constant time. */
export function groupKeyMatches (digest: Buffer, key: string): boolean {
  return timingSafeEqual(digest, groupKeyDigest(key))
}

/** Who a group's public port or domain is reserved for (PortAllocator and registry owners are strings). */
export function groupOwner (group: string, key: string, identity: string): string {
  if (key === '') return identity
  return `group:${createHash('sha256').update(group, 'utf8').update('\0').update(key, 'utf8').digest('hex')}`
}

/** Why a member may not join, or undefined: the key is the group's (and, without a key, so is the client key). */
export function groupRefusal (group: { name: string, keyDigest: Buffer, keyless: boolean, creator: string }, key: string, identity: string): string | undefined {
  const keyless = key === ''
  if (keyless !== group.keyless || !groupKeyMatches(group.keyDigest, key)) {
    return `group ${group.name} has another groupKey: a member joins only with the group's key`
  }
  if (keyless && identity !== group.creator) {
    return `group ${group.name} has no groupKey and belongs to another client key: only that client's proxies may join it (give the group a groupKey to share it)`
  }
  return undefined
}
