// Load-balancing groups across a fleet (in process, one real etcd started by the test): a group's
// port is claimed fleet-wide for the group (its name with its groupKey), so members of different
// clients on different relays share it, while a client outside the group, or one that names the
// group with another key, is refused it on any relay.
import { connect } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { MessageType } from '../../shared/wire/control.js'
import { closeInProcess, rawControl, startRelayInProcess, type RawControl } from '../helpers/in-process.js'
import { closeServices, getFreePort, readAll } from '../helpers/services.js'
import { type EtcdCluster, fleetYaml, startEtcd } from '../helpers/etcd.js'
import { missingTool } from '../helpers/system-tools.js'

type Msg = Record<string, unknown>

async function register (raw: RawControl, id: number, proxy: Record<string, unknown>): Promise<Msg> {
  const from = raw.messages.length
  raw.send({ type: MessageType.REGISTER, id, proxies: [{ type: 'tcp', ...proxy }] })
  return await raw.waitFor((m: Msg) => m.type === MessageType.PROXY_RESULT && m.name === proxy.name && m.id === id, from)
}

/** Sends `text` to host:port (the raw client echoes every stream) and reads the echo. */
async function roundTrip (host: string, port: number, text: string): Promise<string> {
  const socket = connect({ host, port })
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  const reply = readAll(socket, { keep: true, timeoutMs: 5_000 })
  socket.end(text)
  return (await reply).data?.toString('utf8') ?? ''
}

describe.skipIf(missingTool('etcd', 'etcd-server'))('load-balancing groups in a fleet', () => {
  let etcd: EtcdCluster

  beforeAll(async () => { etcd = await startEtcd(1) }, 30_000)
  afterAll(async () => { await etcd.close() }, 30_000)
  afterEach(async () => {
    await closeInProcess()
    await closeServices()
  })

  it('shares a group\'s port among members of different clients on different relays and refuses it to anyone without the group\'s key', async () => {
    const fleet = (node: string): string => fleetYaml(etcd, node, '/groups/')
    const r1 = await startRelayInProcess(`proxyBindAddr: 127.0.0.1\n${fleet('g1')}`)
    const r2 = await startRelayInProcess(`proxyBindAddr: 127.0.0.2\n${fleet('g2')}`)
    const port = await getFreePort()
    const first = await rawControl(r1.port, 'member-one')
    expect(await register(first, 1, { name: 'web-1', remotePort: port, group: 'web', groupKey: 'sesame' })).toMatchObject({ ok: true, remotePort: port })
    // On the other relay, where nothing holds the port yet: the fleet says it is the group's.
    const outsider = await rawControl(r2.port, 'outsider')
    expect(await register(outsider, 1, { name: 'plain', remotePort: port })).toMatchObject({ ok: false, code: 'TUN_PORT_IN_USE' })
    expect(await register(outsider, 2, { name: 'guess', remotePort: port, group: 'web', groupKey: 'guess' })).toMatchObject({ ok: false, code: 'TUN_PORT_IN_USE' })
    const second = await rawControl(r2.port, 'member-two')
    expect(await register(second, 1, { name: 'web-2', remotePort: port, group: 'web', groupKey: 'sesame' })).toMatchObject({ ok: true, remotePort: port })
    expect(await roundTrip('127.0.0.1', port, 'member one')).toBe('member one')
    expect(await roundTrip('127.0.0.2', port, 'member two')).toBe('member two')
    // One member leaving keeps the claim for the other: still refused to the outsider.
    const from = first.messages.length
    first.send({ type: MessageType.UNREGISTER, id: 2, name: 'web-1' })
    await first.waitFor((m: Msg) => m.type === MessageType.UNREGISTER_RESULT && m.id === 2, from)
    const late = await rawControl(r1.port, 'late')
    expect(await register(late, 1, { name: 'late', remotePort: port })).toMatchObject({ ok: false, code: 'TUN_PORT_IN_USE' })
    expect(await roundTrip('127.0.0.2', port, 'still member two')).toBe('still member two')
  })
})
