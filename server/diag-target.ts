// What `tunnel diag` looks at for a relay: its bindPort listener (backlog 511) and the control
// connections ending on it, its other listeners (the proxies, found by owner), the heartbeat
// timeout and the keepalive each kind of socket gets. Used by `tunnel diag -c frps.yml` beside a
// relay and by the relay itself for GET /api/diag (with the port it really bound).
import type { ServerConfig } from '../shared/config/index.js'
import { portsTarget, type DiagTarget, type ListenTarget } from '../shared/diag/index.js'
import { DEFAULT_BACKLOG } from '../shared/net/index.js'
import { CONTROL_KEEPALIVE_MS } from '../shared/timing.js'

export function relayTarget (config: ServerConfig, ports: readonly number[], boundPort = config.bindPort): DiagTarget {
  const listen: ListenTarget[] = boundPort === 0 ? [] : [{ port: boundPort, role: 'control', backlogAsked: DEFAULT_BACKLOG }]
  return {
    ...portsTarget(ports),
    role: 'relay',
    config: { file: config.source, kind: 'server' },
    listen: [...listen, ...portsTarget(ports).listen],
    control: boundPort === 0 ? null : { by: 'local-port', port: boundPort },
    ownedListenerBacklog: DEFAULT_BACKLOG,
    heartbeat: { intervalS: null, timeoutS: config.transport.heartbeatTimeout },
    sockets: [{ kind: 'control', keepAliveMs: CONTROL_KEEPALIVE_MS }, { kind: 'visitor', keepAliveMs: null }],
  }
}
