// The visitor side's opener: visits only on a live session of a relay that agreed on `visit`,
// each with a fresh nonce and the current time, the proofs made over this client's user.
import { afterEach, describe, expect, it } from 'vitest'
import { VisitOpener } from '../../client/visitors/index.js'
import { TunnelError } from '../../shared/errors.js'
import type { MuxStream } from '../../shared/mux/stream.js'
import { checkVisitMac, visitKeysFor } from '../../shared/visit/index.js'
import { Capability, VisitKind } from '../../shared/wire/index.js'
import { muxPair, type MuxPair } from '../helpers/mux-pair.js'

let pair: MuxPair | undefined
afterEach(() => { pair?.close(); pair = undefined })

const keys = visitKeysFor(Buffer.from('opener-secret-of-20-chars'), 'home.ssh')
const request = { kind: VisitKind.STCP, keys, target: 'home.ssh', visitor: { address: '127.0.0.1', port: 5 }, listener: { address: '127.0.0.1', port: 6000 } }

describe('visit opener', () => {
  it('refuses to open while not logged in, and on a relay without the visit capability', async () => {
    const opener = new VisitOpener('laptop')
    expect((opener.open(request) as TunnelError).code).toBe('TUN_SESSION_CLOSED')
    expect(opener.unsupported).toBeUndefined()
    pair = await muxPair()
    opener.attach(pair.client, new Set([Capability.TCP]))
    expect(opener.unsupported).toBe(true)
    expect(opener.ready).toBe(false)
    expect((opener.open(request) as TunnelError).code).toBe('TUN_VISIT_UNAVAILABLE')
  })

  it('opens a stream named after the target with a fresh proof over this client\'s user and its clock', async () => {
    let now = 1_700_000_000_000
    const opener = new VisitOpener('laptop', () => now)
    pair = await muxPair()
    opener.attach(pair.client, new Set([Capability.VISIT]))
    expect(opener.ready).toBe(true)
    const seen: MuxStream[] = []
    pair.server.on('stream', (s) => { seen.push(s) })
    expect(opener.open(request)).not.toBeInstanceOf(TunnelError)
    now += 5
    expect(opener.open(request)).not.toBeInstanceOf(TunnelError)
    await expect.poll(() => seen.length).toBe(2)
    const [a, b] = seen.map((s) => s.open)
    expect(a?.proxy).toBe('home.ssh')
    expect(a?.visit?.user).toBe('')
    expect(a?.visit?.timestampMs).toBe(1_700_000_000_000)
    expect(b?.visit?.timestampMs).toBe(1_700_000_000_005)
    expect(a?.visit?.nonce.equals(b?.visit?.nonce ?? Buffer.alloc(0))).toBe(false)
    const v = a?.visit
    if (v === undefined) throw new Error('no visit block')
    expect(checkVisitMac(keys.relayKey, { kind: v.kind, target: 'home.ssh', user: 'laptop', nonce: v.nonce, timestampMs: v.timestampMs }, v.relayMac)).toBe(true)
    pair.client.close()
    await expect.poll(() => opener.ready).toBe(false)
  })
})
