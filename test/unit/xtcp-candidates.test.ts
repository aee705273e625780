// The addresses one side of an xtcp path offers the other: its own interface addresses (frp's
// "assisted addresses") and the mapping the STUN server saw, or, with frp's
// natTraversal.disableAssistedAddrs, the STUN-seen ones only.
import { createSocket, type Socket } from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { gatherCandidates } from '../../client/p2p/index.js'
import { StunServer } from '../../server/stun/index.js'
import { silentLogger } from '../../shared/log.js'
import { dgramEndpoint, localAddresses, type DatagramEndpoint } from '../../shared/stun/index.js'

const sockets: Socket[] = []
const servers: StunServer[] = []
afterEach(() => {
  for (const s of sockets.splice(0)) s.close()
  for (const s of servers.splice(0)) s.close()
})

async function endpoint (family: 4 | 6 = 4): Promise<DatagramEndpoint & { family: 4 | 6 }> {
  const s = createSocket(family === 4 ? 'udp4' : 'udp6')
  sockets.push(s)
  await new Promise<void>((resolve) => { s.bind(0, family === 4 ? '0.0.0.0' : '::', resolve) })
  return { ...dgramEndpoint(s), family }
}

const ipv6Usable = localAddresses().some((a) => a.includes(':'))

async function stun (): Promise<{ host: string, port: number }> {
  const server = new StunServer(silentLogger())
  servers.push(server)
  const { port } = await server.start('127.0.0.1', 0, 0)
  return { host: '127.0.0.1', port }
}

describe('xtcp candidates', () => {
  it('offers every IPv4 interface address of this machine by default, at the punching socket\'s port', async () => {
    const ep = await endpoint()
    const { candidates } = await gatherCandidates(ep, { stun: undefined, log: silentLogger() })
    const own = localAddresses().filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a))
    expect(candidates.filter((c) => c.kind === 'local').map((c) => c.host).sort()).toEqual(own.slice(0, 16).sort())
    expect(candidates.every((c) => c.port === ep.localPort())).toBe(true)
  })

  it.skipIf(!ipv6Usable)('offers this machine\'s IPv6 addresses too from a dual-stack socket, except link-local ones (they need a scope)', async () => {
    const ep = await endpoint(6)
    const { candidates } = await gatherCandidates(ep, { stun: undefined, log: silentLogger() })
    const hosts = candidates.map((c) => c.host)
    const v6 = localAddresses().filter((a) => a.includes(':'))
    for (const a of v6) expect(hosts.includes(a)).toBe(!a.toLowerCase().startsWith('fe80'))
    expect(hosts).toContain('127.0.0.1')
    // An IPv4-only socket offers no IPv6 address (it could not send to one).
    const v4only = await gatherCandidates(await endpoint(4), { stun: undefined, log: silentLogger() })
    expect(v4only.candidates.some((c) => c.host.includes(':'))).toBe(false)
  })

  it('offers none of this machine\'s own addresses with disableAssistedAddrs: only what the STUN server saw', async () => {
    const ep = await endpoint()
    expect((await gatherCandidates(ep, { stun: undefined, log: silentLogger(), disableAssistedAddrs: true })).candidates).toEqual([])
    const { candidates, nat } = await gatherCandidates(ep, { stun: await stun(), log: silentLogger(), disableAssistedAddrs: true })
    expect(nat?.mapped).toEqual({ host: '127.0.0.1', port: ep.localPort() })
    expect(candidates).toEqual([{ host: '127.0.0.1', port: ep.localPort(), kind: 'mapped' }])
  })
})
