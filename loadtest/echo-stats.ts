// What `tunnel echo` counts (logged when it stops, and readable by tests).

export const ECHO_MODES = ['echo', 'sink', 'source'] as const
export type EchoMode = typeof ECHO_MODES[number]

export interface EchoCounters {
  connections: number
  openConnections: number
  bytesIn: number
  bytesOut: number
  datagramsIn: number
  datagramsOut: number
  /** UDP replies that could not be sent (the peer's port closed, buffers full). */
  datagramErrors: number
}

export function emptyEchoCounters (): EchoCounters {
  return { connections: 0, openConnections: 0, bytesIn: 0, bytesOut: 0, datagramsIn: 0, datagramsOut: 0, datagramErrors: 0 }
}
