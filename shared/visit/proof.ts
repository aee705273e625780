// How a visitor proves it knows a secret proxy's secretKey without sending it (pure crypto,
// docs/security.md "Secret proxies"). Both the visitor and the home client derive two keys from
// the secret and the proxy's wire name with scrypt, once at start:
//   relayKey: the home client registers it with the proxy; the relay checks visitors with it.
//   homeKey:  never leaves the secret's holders; the home client checks visitors with it.
// Every visit carries a fresh nonce and a timestamp, and two HMAC-SHA256 proofs over the same
// message (the kind, the target proxy, the visitor's user, the nonce, the timestamp): one per
// key. The relay learns relayKey only, so it can check visitors but cannot make a proof the home
// client accepts: a curious relay operator cannot visit.
import { createHash, createHmac, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto'
import { VISIT_MAC_BYTES, VISIT_NONCE_BYTES, type VisitKind } from '../wire/index.js'

/**
 * scrypt's cost for turning a secretKey into the two keys: 16 MiB and some tens of ms, paid once
 * per proxy and per visitor at start, and by anyone trying to guess a secret from a proof (the
 * relay operator, who sees proofs and relayKey) once per guess.
 */
export const SECRET_KDF = { N: 2 ** 14, r: 8, p: 1 } as const
/** scrypt needs 128 · N · r bytes; Node's default ceiling is 32 MiB, this leaves room. */
const SCRYPT_MAXMEM_BYTES = 64 * 1024 * 1024
const KDF_LABEL = 'tunnel/visit/1 keys\0'
const MAC_LABEL = 'tunnel/visit/1 proof\0'

export interface VisitKeys {
  /** Registered with the relay (base64 in the proxy spec): checks visitors there. */
  relayKey: Buffer
  /** Kept by the secret's holders: the home client checks visitors with it. */
  homeKey: Buffer
}

/**
 * The keys of the proxy named `target` on the wire (`{user}.{name}` when the owner has a user)
 * for `secret`. The name is the salt, so one secret used for two proxies gives unrelated keys.
 */
export function deriveVisitKeys (secret: Uint8Array, target: string): VisitKeys {
  const salt = Buffer.concat([Buffer.from(KDF_LABEL, 'utf8'), Buffer.from(target, 'utf8')])
  const out = scryptSync(secret, salt, 2 * VISIT_MAC_BYTES, { ...SECRET_KDF, maxmem: SCRYPT_MAXMEM_BYTES })
  return { relayKey: out.subarray(0, VISIT_MAC_BYTES), homeKey: out.subarray(VISIT_MAC_BYTES) }
}

/** Derived keys remembered (a reload keeps unchanged proxies and visitors without paying scrypt again). */
export const MAX_CACHED_VISIT_KEYS = 1024
const cache = new Map<string, VisitKeys>()

/** deriveVisitKeys, remembered by a hash of the secret and the target. */
export function visitKeysFor (secret: Uint8Array, target: string): VisitKeys {
  const id = createHash('sha256').update(secret).update('\0').update(target, 'utf8').digest('base64')
  const known = cache.get(id)
  if (known !== undefined) return known
  const keys = deriveVisitKeys(secret, target)
  if (cache.size >= MAX_CACHED_VISIT_KEYS) cache.clear()
  cache.set(id, keys)
  return keys
}

/** What both proofs of one visit sign. */
export interface VisitClaim {
  kind: VisitKind
  /** The proxy's wire name. */
  target: string
  /** The user the visitor's session logged in with. */
  user: string
  nonce: Buffer
  timestampMs: number
}

function message (c: VisitClaim): Buffer {
  const target = Buffer.from(c.target, 'utf8')
  const user = Buffer.from(c.user, 'utf8')
  const head = Buffer.from(MAC_LABEL, 'utf8')
  const b = Buffer.allocUnsafe(head.length + 1 + 2 + target.length + 2 + user.length + c.nonce.length + 8)
  let off = head.copy(b, 0)
  off = b.writeUInt8(c.kind, off)
  off = b.writeUInt16BE(target.length, off)
  off += target.copy(b, off)
  off = b.writeUInt16BE(user.length, off)
  off += user.copy(b, off)
  off += c.nonce.copy(b, off)
  b.writeBigUInt64BE(BigInt(c.timestampMs), off)
  return b
}

/** HMAC-SHA256 of the claim under `key`. */
export function visitMac (key: Uint8Array, claim: VisitClaim): Buffer {
  return createHmac('sha256', key).update(message(claim)).digest()
}

/** Whether `mac` is the claim's HMAC under `key` (compared in constant time). */
export function checkVisitMac (key: Uint8Array, claim: VisitClaim, mac: Buffer): boolean {
  const expected = visitMac(key, claim)
  return mac.length === expected.length && timingSafeEqual(mac, expected)
}

/** A fresh nonce for one visit. */
export function newVisitNonce (): Buffer {
  return randomBytes(VISIT_NONCE_BYTES)
}

/** Both proofs of a visit: what a visitor puts in its visit block. */
export function proveVisit (keys: VisitKeys, claim: VisitClaim): { relayMac: Buffer, homeMac: Buffer } {
  return { relayMac: visitMac(keys.relayKey, claim), homeMac: visitMac(keys.homeKey, claim) }
}

/**
 * frp's allowUsers rule: `*` admits every user; an empty list admits only the proxy owner's own
 * user; otherwise the visitor's user must be listed.
 */
export function userAllowed (allowUsers: readonly string[], ownerUser: string, visitorUser: string): boolean {
  if (allowUsers.length === 0) return visitorUser === ownerUser
  return allowUsers.includes('*') || allowUsers.includes(visitorUser)
}
