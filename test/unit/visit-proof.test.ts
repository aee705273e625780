// The proof of a secret proxy's secretKey: keys derived per proxy name, two HMACs per visit over
// everything that identifies it, and frp's allowUsers rule.
import { describe, expect, it } from 'vitest'
import { checkVisitMac, deriveVisitKeys, newVisitNonce, proveVisit, userAllowed, visitKeysFor, type VisitClaim } from '../../shared/visit/index.js'
import { VisitKind } from '../../shared/wire/index.js'

const secret = Buffer.from('correct horse battery staple')
const claim: VisitClaim = { kind: VisitKind.STCP, target: 'home.ssh', user: 'laptop', nonce: Buffer.alloc(16, 7), timestampMs: 1_700_000_000_000 }

describe('visit proof', () => {
  it('derives the same two different keys from a secret and a proxy name, and other keys for another name', () => {
    const a = deriveVisitKeys(secret, 'home.ssh')
    expect(deriveVisitKeys(secret, 'home.ssh')).toEqual(a)
    expect(a.relayKey.equals(a.homeKey)).toBe(false)
    expect(a.relayKey).toHaveLength(32)
    const b = deriveVisitKeys(secret, 'home.rdp')
    expect(b.relayKey.equals(a.relayKey)).toBe(false)
    expect(visitKeysFor(secret, 'home.ssh')).toEqual(a)
  })

  it('verifies a proof made with the same secret and refuses one made with another', () => {
    const keys = visitKeysFor(secret, 'home.ssh')
    const { relayMac, homeMac } = proveVisit(keys, claim)
    expect(checkVisitMac(keys.relayKey, claim, relayMac)).toBe(true)
    expect(checkVisitMac(keys.homeKey, claim, homeMac)).toBe(true)
    const wrong = proveVisit(visitKeysFor(Buffer.from('guess'), 'home.ssh'), claim)
    expect(checkVisitMac(keys.relayKey, claim, wrong.relayMac)).toBe(false)
    expect(checkVisitMac(keys.homeKey, claim, wrong.homeMac)).toBe(false)
  })

  it('binds the proof to the kind, the proxy, the user, the nonce and the time', () => {
    const keys = visitKeysFor(secret, 'home.ssh')
    const { relayMac } = proveVisit(keys, claim)
    for (const changed of [
      { ...claim, kind: VisitKind.SUDP },
      { ...claim, target: 'home.other' },
      { ...claim, user: 'mallory' },
      { ...claim, nonce: newVisitNonce() },
      { ...claim, timestampMs: claim.timestampMs + 1 },
    ]) {
      expect(checkVisitMac(keys.relayKey, changed, relayMac)).toBe(false)
    }
  })

  it('gives the relay nothing it can prove the home side with: a proof under relayKey fails the home check', () => {
    const keys = visitKeysFor(secret, 'home.ssh')
    const forged = proveVisit({ relayKey: keys.relayKey, homeKey: keys.relayKey }, claim)
    expect(checkVisitMac(keys.homeKey, claim, forged.homeMac)).toBe(false)
  })

  it('refuses a MAC of the wrong length without throwing', () => {
    const keys = visitKeysFor(secret, 'home.ssh')
    expect(checkVisitMac(keys.relayKey, claim, Buffer.alloc(5))).toBe(false)
  })

  it('follows frp\'s allowUsers: * admits anyone, an empty list only the owner\'s user, else the listed ones', () => {
    expect(userAllowed(['*'], 'home', 'anyone')).toBe(true)
    expect(userAllowed([], 'home', 'home')).toBe(true)
    expect(userAllowed([], 'home', 'laptop')).toBe(false)
    expect(userAllowed(['laptop', 'phone'], 'home', 'phone')).toBe(true)
    expect(userAllowed(['laptop'], 'home', 'home')).toBe(false)
  })
})
