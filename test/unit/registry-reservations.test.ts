// What a client held stays reserved for its key for the ownership grace after its session ends
// (issue 22, finding 5): its clientID and proxy names (registry) and its fixed public ports (port
// allocator); the same key gets them back at once, another key only after the grace.
import { describe, expect, it } from 'vitest'
import { PortAllocator } from '../../server/proxy/port-allocator.js'
import { Registry, type RegistryMember } from '../../server/registry.js'

const member = (clientId: string, identity: string): RegistryMember => ({ clientId, identity, keyId: identity.slice(0, 4), replaceBy: () => {} })

describe('ownership grace', () => {
  it('keeps a clientID and its proxy names for the same key, and refuses other keys until the grace ends', () => {
    let now = 0
    const reg = new Registry<RegistryMember>(60_000, () => now)
    const alice = member('home', 'alice-key')
    reg.activate(alice)
    expect(reg.claimProxy('web', alice)).toBe(true)
    const mallory = member('home', 'mallory-key')
    expect(reg.claimProxy('web', mallory)).toBe('held')
    reg.remove(alice) // alice's session ends
    expect(reg.clientIdReservedFor('home', 'mallory-key')).toBe(60_000)
    expect(reg.clientIdReservedFor('home', 'alice-key')).toBe(0)
    expect(reg.claimProxy('web', mallory)).toEqual({ reservedMs: 60_000 })
    now = 30_000
    const alice2 = member('home', 'alice-key')
    expect(reg.claimProxy('web', alice2)).toBe(true) // the same key, at once
    reg.remove(alice2)
    now = 30_000 + 60_001 // the grace after her second session is over
    expect(reg.clientIdReservedFor('home', 'mallory-key')).toBe(0)
    expect(reg.claimProxy('web', mallory)).toBe(true)
  })

  it('does not reserve what a client gave up on purpose (unregister, or a goodbye)', () => {
    const reg = new Registry<RegistryMember>(60_000, () => 0)
    const alice = member('home', 'alice-key')
    expect(reg.claimProxy('web', alice)).toBe(true)
    reg.releaseProxy('web', alice)
    expect(reg.claimProxy('web', member('other', 'bob-key'))).toBe(true)
    reg.activate(alice)
    expect(reg.claimProxy('api', alice)).toBe(true)
    reg.remove(alice, false) // went away with a goaway
    expect(reg.clientIdReservedFor('home', 'bob-key')).toBe(0)
    expect(reg.claimProxy('api', member('home', 'bob-key'))).toBe(true)
  })

  it('keeps a fixed public port for its owner\'s key, and skips reserved ports when picking a free one', async () => {
    let now = 0
    const ports = new PortAllocator([{ start: 40_000, end: 40_001 }], '127.0.0.1', new Set(), 60_000, () => now)
    const bound: number[] = []
    const bind = async (_host: string, port: number): Promise<number> => { bound.push(port); return await Promise.resolve(port) }
    ports.reserve(40_000, 'alice-key')
    await expect(ports.bind(40_000, 'mallory-key', bind)).rejects.toMatchObject({ code: 'TUN_PORT_IN_USE', message: expect.stringMatching(/reserved for the client that held it/) })
    for (let i = 0; i < 10; i++) expect(await ports.bind(0, 'mallory-key', bind)).toBe(40_001)
    expect(await ports.bind(40_000, 'alice-key', bind)).toBe(40_000)
    ports.reserve(40_000, 'alice-key')
    now = 60_001
    expect(await ports.bind(40_000, 'mallory-key', bind)).toBe(40_000)
  })
})
