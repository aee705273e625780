// auth.clientKeys as the relay checks it (server/client-keys.ts): an empty list admits any key;
// otherwise only listed keys, each within what one of its entries binds (clientID, user), and a
// NAT probe of a clientID counts as that clientID.
import { describe, expect, it } from 'vitest'
import { clientKeyPolicy } from '../../server/client-keys.js'
import { natProbeClientId } from '../../shared/diag/index.js'
import { generateKeyPair } from '../../shared/transport/index.js'

const alice = generateKeyPair().publicKey
const bob = generateKeyPair().publicKey
const stranger = generateKeyPair().publicKey

describe('clientKeyPolicy', () => {
  it('is no policy at all for an empty list (any key that knows the token)', () => {
    expect(clientKeyPolicy([])).toBeUndefined()
  })

  it('admits a listed key without bindings under any clientID and user, and no unlisted key', () => {
    const policy = clientKeyPolicy([{ publicKey: alice }])
    expect(policy?.allows(alice, 'anything')).toBe(true)
    expect(policy?.allowsLogin(alice, 'anything', 'anyone')).toBe(true)
    expect(policy?.allows(stranger, 'anything')).toBe(false)
    expect(policy?.allowsLogin(stranger, 'anything', '')).toBe(false)
  })

  it('binds a key to its clientID (and that clientID\'s NAT probes) and to its user', () => {
    const policy = clientKeyPolicy([{ publicKey: alice, clientID: 'home', user: 'alice' }])
    expect(policy?.allows(alice, 'home')).toBe(true)
    expect(policy?.allows(alice, natProbeClientId('home', 30, '0a1b2c3d'))).toBe(true)
    expect(policy?.allows(alice, natProbeClientId('office', 30, '0a1b2c3d'))).toBe(false)
    expect(policy?.allows(alice, natProbeClientId('home', 30, '0a1b2c3d') + 'x')).toBe(false)
    expect(policy?.allows(alice, 'office')).toBe(false)
    expect(policy?.allowsLogin(alice, 'home', 'alice')).toBe(true)
    expect(policy?.allowsLogin(alice, 'home', 'bob')).toBe(false)
    expect(policy?.allowsLogin(alice, 'home', '')).toBe(false)
  })

  it('checks clientID and user against the same entry: two entries of one key do not mix', () => {
    const policy = clientKeyPolicy([
      { publicKey: bob, clientID: 'home', user: 'family' },
      { publicKey: bob, clientID: 'lab', user: 'work' },
    ])
    expect(policy?.allowsLogin(bob, 'home', 'family')).toBe(true)
    expect(policy?.allowsLogin(bob, 'lab', 'work')).toBe(true)
    expect(policy?.allowsLogin(bob, 'home', 'work')).toBe(false)
    expect(policy?.allowsLogin(bob, 'lab', 'family')).toBe(false)
  })
})
