// What `tunnel diag` looks at for a client: the control connection to serverAddr:serverPort
// (`hosts`: the relay's addresses; null = any host on that port), the heartbeat and keepalive.
// Used by `tunnel diag -c frpc.yml` beside a client and by the client itself for GET /api/diag
// (with the address it really connected to).
import { describeProxy, type ClientConfig } from '../shared/config/index.js'
import { portsTarget, type DiagTarget } from '../shared/diag/index.js'
import { transportName } from './transport/index.js'
import { CONTROL_KEEPALIVE_MS } from '../shared/timing.js'

export function clientTarget (config: ClientConfig, hosts: readonly string[] | null, ports: readonly number[]): DiagTarget {
  return {
    ...portsTarget(ports),
    role: 'client',
    config: { file: config.source, kind: 'client' },
    // Through transport.proxyURL the TCP connection ends at the proxy.
    control: { by: 'peer', port: config.transport.proxyURL?.port ?? config.serverPort, hosts },
    heartbeat: { intervalS: config.transport.heartbeatInterval, timeoutS: config.transport.heartbeatTimeout },
    sockets: [{ kind: 'control', keepAliveMs: CONTROL_KEEPALIVE_MS }, { kind: 'local-service', keepAliveMs: null }],
  }
}

/** The host the client's TCP connection goes to: the proxy's, or serverAddr. */
export function controlHost (config: ClientConfig): string {
  return config.transport.proxyURL?.host ?? config.serverAddr
}

/**
 * What `tunnel diag` says about the transport (issue 18): its name, and what the kernel's figures
 * of the control connection describe when a proxy or a WebSocket front end is in the way. The
 * diag report carries them as `unavailable` facts (what it cannot see, and why).
 */
export function transportNotes (config: ClientConfig): Array<{ fact: string, code: 'TUN_DIAG_SOURCE', reason: string }> {
  const transport = transportName(config)
  const proxy = config.transport.proxyURL
  const notes: Array<{ fact: string, code: 'TUN_DIAG_SOURCE', reason: string }> = []
  if (proxy !== null) {
    notes.push({ fact: 'relay path', code: 'TUN_DIAG_SOURCE', reason: `the control connection (${transport}) goes through the proxy ${describeProxy(proxy)} (${proxy.source}): MSS, RTT, retransmits and the path MTU here are those of the TCP connection to the proxy, not to the relay; the relay's side (--admin, relaySide) shows the proxy's connection to it` })
  } else if (transport.startsWith('websocket') || transport === 'wss') {
    notes.push({ fact: 'relay path', code: 'TUN_DIAG_SOURCE', reason: `the control connection is a WebSocket (${transport}): when serverAddr is a reverse proxy or CDN in front of the relay, the figures here are those of the TCP connection to it, and the relay's side (--admin, relaySide) is its connection from the front end; heartbeats travel end to end, so the heartbeat figures still hold` })
  }
  return notes
}
