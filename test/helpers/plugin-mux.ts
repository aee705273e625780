// A client plugin behind a real mux pair, fed the way the client's proxy manager feeds it, and
// a raw visitor on the relay side writing exactly the bytes a test wants. Everything made here
// is closed by closePluginMux() (call it in afterEach).
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { PluginForwarder, type PluginProxy } from '../../client/plugins/index.js'
import type { PluginConfig } from '../../shared/config/index.js'
import { silentLogger } from '../../shared/log.js'
import { MuxDuplex } from '../../shared/mux/duplex.js'
import { muxPair, type MuxPair } from './mux-pair.js'

const pairs: MuxPair[] = []
const servers: Server[] = []
const sockets: Socket[] = []
const forwarders: PluginForwarder[] = []

export async function closePluginMux (): Promise<void> {
  for (const s of sockets.splice(0)) s.destroy()
  for (const f of forwarders.splice(0)) f.close()
  for (const p of pairs.splice(0)) p.close()
  await Promise.all(servers.splice(0).map(async (s) => { await new Promise((resolve) => { s.close(resolve) }) }))
}

const proxyWith = (plugin: PluginConfig): PluginProxy => ({ name: 'p', type: 'tcp', localIP: '127.0.0.1', localPort: 0, remotePort: 0, allowSources: [], denySources: [], proxyProtocolVersion: null, maxVisitors: 0, bandwidthLimit: 0, bandwidthLimitMode: 'client', plugin })

/** A forwarder for `plugin` on a fresh mux pair, and a way to open visitor streams to it. */
export async function pluginHarness (plugin: PluginConfig): Promise<{ forwarder: PluginForwarder, visit: () => MuxDuplex }> {
  const pair = await muxPair()
  pairs.push(pair)
  const forwarder = new PluginForwarder(proxyWith(plugin), silentLogger())
  forwarders.push(forwarder)
  pair.client.on('stream', (s) => { forwarder.handle(s) })
  const endpoint = { address: '127.0.0.1', port: 40000 }
  return {
    forwarder,
    visit: () => {
      const d = new MuxDuplex(pair.server.openStream({ proxy: 'p', visitor: endpoint, listener: endpoint }))
      d.on('error', () => {})
      return d
    },
  }
}

/** Writes `bytes` (and FIN when `end`), and collects the reply until it is `n` bytes long or the stream ends or closes. */
export async function exchange (d: MuxDuplex, bytes: Buffer | string, n = Infinity, end = false): Promise<{ data: Buffer, closed: boolean }> {
  return await new Promise((resolve) => {
    const parts: Buffer[] = []
    let got = 0
    const done = (closed: boolean): void => {
      d.off('data', onData)
      resolve({ data: Buffer.concat(parts), closed })
    }
    const onData = (c: Buffer): void => {
      parts.push(c)
      got += c.length
      if (got >= n) done(false)
    }
    d.on('data', onData)
    d.once('close', () => { done(true) })
    d.once('end', () => { done(true) })
    if (end) d.end(bytes)
    else if (bytes.length > 0) d.write(bytes)
  })
}

/** Collects from `d` until `text` has arrived (or the stream closed); what arrived. */
export async function readUntil (d: MuxDuplex, text: string): Promise<string> {
  return await new Promise((resolve) => {
    let got = ''
    const done = (): void => { d.off('data', onData); resolve(got) }
    const onData = (c: Buffer): void => { got += c.toString('latin1'); if (got.includes(text)) done() }
    d.on('data', onData)
    d.once('close', done)
    d.once('end', done)
  })
}

/** A TCP service that answers `echo:` + what it got, and ends when the peer ends. */
export async function echoService (): Promise<number> {
  const server = createNetServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s)
    s.on('error', () => {})
    s.write('echo:')
    s.pipe(s)
  })
  servers.push(server)
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  return (server.address() as AddressInfo).port
}

/** A loopback TCP port nothing listens on (it was free a moment ago). */
export async function closedPort (): Promise<number> {
  const server = createNetServer()
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const port = (server.address() as AddressInfo).port
  await new Promise((resolve) => { server.close(resolve) })
  return port
}
