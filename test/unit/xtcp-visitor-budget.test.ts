// The xtcp visitor's punch budget (frp's maxRetriesAnHour and minRetryInterval) with an injected
// clock and a relay that refuses every introduction: attempts stop at the budget, and meanwhile
// every connection goes to the fallback at once.
import { connect, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { XtcpVisitor } from '../../client/visitors/xtcp.js'
import type { Visitor, VisitorContext } from '../../client/visitors/index.js'
import type { VisitOpener } from '../../client/visitors/visit-opener.js'
import { parseClientConfig } from '../../shared/config/index.js'
import { TunnelError } from '../../shared/errors.js'
import { silentLogger } from '../../shared/log.js'
import { getFreePort } from '../helpers/services.js'

const visitors: XtcpVisitor[] = []
const sockets: Socket[] = []
afterEach(() => {
  for (const v of visitors.splice(0)) v.close()
  for (const s of sockets.splice(0)) s.destroy()
})

async function setup (keys: string): Promise<{ visitor: XtcpVisitor, handed: Socket[], clock: { now: number }, port: number }> {
  const port = await getFreePort()
  const config = parseClientConfig(`visitors:\n  - { name: p, type: xtcp, serverName: p2p, secretKey: a-long-random-secret-for-tests, bindPort: ${port}, fallbackTo: r, ${keys} }\n  - { name: r, type: stcp, serverName: p2p-relay, secretKey: a-long-random-secret-for-tests, bindPort: -1 }`, 'frpc.yml', {}).config
  const c = config.visitors[0]
  if (c === undefined) throw new Error('no visitor')
  const handed: Socket[] = []
  const fallback = { handOver: (s: Socket) => { handed.push(s); s.destroy() } } as unknown as Visitor
  // A relay that refuses every xtcp visit at once.
  const opener = { ready: true, open: () => new TunnelError('TUN_VISIT_REFUSED', 'refused') } as unknown as VisitOpener
  const ctx: VisitorContext = { opener, log: silentLogger(), user: '', find: (name) => (name === 'r' ? fallback : undefined), stun: async () => undefined }
  const clock = { now: 1_000_000 }
  const visitor = new XtcpVisitor(c, ctx, () => clock.now)
  visitors.push(visitor)
  await visitor.start()
  return { visitor, handed, clock, port }
}

async function connectOnce (port: number, handed: Socket[]): Promise<void> {
  const before = handed.length
  const s = connect(port, '127.0.0.1')
  sockets.push(s)
  s.on('error', () => {})
  for (let i = 0; i < 200 && handed.length === before; i++) await new Promise((resolve) => setTimeout(resolve, 10))
}

describe('the xtcp visitor\'s punch budget', () => {
  it('tries at most maxRetriesAnHour times an hour, then sends connections to the fallback without trying', async () => {
    const { visitor, handed, clock, port } = await setup('maxRetriesAnHour: 2, minRetryInterval: 0')
    for (let i = 0; i < 4; i++) {
      await connectOnce(port, handed)
      clock.now += 1000
    }
    expect(handed).toHaveLength(4)
    expect(visitor.p2pStatus()).toMatchObject({ attempts: 2, failures: { offline: 2 }, connections: { fallback: 4, direct: 0 } })
    // An hour later the budget has room again.
    clock.now += 3_600_000
    await connectOnce(port, handed)
    expect(visitor.p2pStatus().attempts).toBe(3)
  })

  it('waits minRetryInterval after a failure before the next attempt', async () => {
    const { visitor, handed, clock, port } = await setup('maxRetriesAnHour: 100, minRetryInterval: 90')
    await connectOnce(port, handed)
    clock.now += 89_000
    await connectOnce(port, handed)
    expect(visitor.p2pStatus().attempts).toBe(1)
    clock.now += 2_000
    await connectOnce(port, handed)
    expect(visitor.p2pStatus()).toMatchObject({ attempts: 2, connections: { fallback: 3 } })
  })
})
