// What `tunnel diag` looks at for a client: the control connection to serverAddr:serverPort
// (`hosts`: the relay's addresses; null = any host on that port), the heartbeat and keepalive.
// Used by `tunnel diag -c frpc.yml` beside a client and by the client itself for GET /api/diag
// (with the address it really connected to).
import type { ClientConfig } from '../shared/config/index.js'
import { portsTarget, type DiagTarget } from '../shared/diag/index.js'
import { CONTROL_KEEPALIVE_MS } from '../shared/timing.js'

export function clientTarget (config: ClientConfig, hosts: readonly string[] | null, ports: readonly number[]): DiagTarget {
  return {
    ...portsTarget(ports),
    role: 'client',
    config: { file: config.source, kind: 'client' },
    control: { by: 'peer', port: config.serverPort, hosts },
    heartbeat: { intervalS: config.transport.heartbeatInterval, timeoutS: config.transport.heartbeatTimeout },
    sockets: [{ kind: 'control', keepAliveMs: CONTROL_KEEPALIVE_MS }, { kind: 'local-service', keepAliveMs: null }],
  }
}
