// What `tunnel diag` looks at, decided by the composition root from a config file and --port:
// which listeners, how to recognise the control connection, and what the program configures
// (heartbeat, keepalive of each kind of socket). Kept free of config types so it can be built
// for a relay, a client or bare ports alike.
import type { KeepaliveSocket, Role } from './report.js'

export interface ListenTarget {
  port: number
  role: 'control' | 'port'
  /** What the program passes to listen(); null when unknown. */
  backlogAsked: number | null
}

/** The relay's control connections end on its bindPort; the client's go to serverAddr:serverPort. */
export type ControlMatch =
  | { by: 'local-port', port: number }
  | { by: 'peer', port: number, hosts: readonly string[] | null }
  /** One connection: local port `port` to peerHost:peerPort (the relay asked about one client's). */
  | { by: 'endpoint', port: number, peerHost: string, peerPort: number }

export interface DiagTarget {
  role: Role
  config: { file: string, kind: 'server' | 'client' } | null
  listen: readonly ListenTarget[]
  control: ControlMatch | null
  /** Backlog of the program's other listeners (the relay's proxy listeners); null = do not look for them. */
  ownedListenerBacklog: number | null
  /** More ports whose connection states count (--port). */
  ports: readonly number[]
  heartbeat: { intervalS: number | null, timeoutS: number | null } | null
  /** The keepalive delay each kind of socket is given with setKeepAlive (null = not enabled). */
  sockets: ReadonlyArray<{ kind: KeepaliveSocket['kind'], keepAliveMs: number | null }>
}

/** Bare ports (`tunnel diag --port N`): their listeners and connection states, nothing else. */
export function portsTarget (ports: readonly number[]): DiagTarget {
  return {
    role: 'ports',
    config: null,
    listen: ports.map((port) => ({ port, role: 'port', backlogAsked: null })),
    control: null,
    ownedListenerBacklog: null,
    ports,
    heartbeat: null,
    sockets: [],
  }
}
