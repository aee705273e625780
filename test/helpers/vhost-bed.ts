// An http vhost in one process with a client's side on a mux pair: proxies added with add(spec,
// localPort) forward to a local port through the client's TcpForwarder, as a real client would.
import { TcpForwarder } from '../../client/tcp-forwarder.js'
import { Vhosts } from '../../server/vhost/vhosts.js'
import type { TcpProxyConfig } from '../../shared/config/types.js'
import { silentLogger } from '../../shared/log.js'
import { ResetCode } from '../../shared/wire/frame.js'
import type { HttpProxySpec } from '../../shared/wire/proxy-spec.js'
import { muxPair, type MuxPair } from './mux-pair.js'

const log = silentLogger()
const beds: Array<{ pair: MuxPair, vhosts: Vhosts }> = []

const tcpTarget = (localPort: number): TcpProxyConfig => ({ name: 'p', type: 'tcp', localIP: '127.0.0.1', localPort, remotePort: 0, allowSources: [], denySources: [], proxyProtocolVersion: null, maxVisitors: 0, bandwidthLimit: 0, bandwidthLimitMode: 'client' })

/** An http proxy's spec for `customDomains`. */
export const httpSpec = (name: string, customDomains: string[], more: Partial<HttpProxySpec> = {}): HttpProxySpec => ({ name, type: 'http', customDomains, locations: [], ...more })

export interface VhostBed {
  vhosts: Vhosts
  add: (spec: HttpProxySpec, localPort: number) => ReturnType<Vhosts['open']>
  port: number
}

/** A started vhost (http port on loopback) and the client side that serves its proxies. */
export async function vhostBed (): Promise<VhostBed> {
  const pair = await muxPair()
  const vhosts = new Vhosts({ host: '127.0.0.1', httpPort: 0, httpsPort: 0, subDomainHost: 'example.test', responseHeaderTimeoutMs: 10_000, custom404Page: null }, log)
  await vhosts.start()
  beds.push({ pair, vhosts })
  const forwarders = new Map<string, TcpForwarder>()
  pair.client.on('stream', (s) => {
    const f = s.open === undefined ? undefined : forwarders.get(s.open.proxy)
    if (f === undefined) s.reset(ResetCode.REFUSED)
    else f.handle(s)
  })
  const add = (spec: HttpProxySpec, localPort: number): ReturnType<Vhosts['open']> => {
    forwarders.set(spec.name, new TcpForwarder(tcpTarget(localPort), log))
    return vhosts.open(spec, pair.server, log, 'the-client')
  }
  return { vhosts, add, port: vhosts.httpPort ?? 0 }
}

/** Destroys every bed made since the last call (afterEach). */
export function closeVhostBeds (): void {
  for (const b of beds.splice(0)) { b.vhosts.destroy(); b.pair.close() }
}
