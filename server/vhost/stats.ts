// Counters of the vhost ports, as plain numbers (a metrics endpoint can read them as they are).

export interface HttpVhostStats {
  /** Requests read on vhostHTTPPort (WebSocket upgrades included). */
  requests: number
  /** Answered 404: no proxy serves the host (and path). */
  notFound: number
  /** Answered 502: the client or its local service could not be reached. */
  badGateway: number
  /** Answered 504: the service sent no response header within vhostHTTPTimeout. */
  gatewayTimeout: number
  /** Answered 401: the proxy has httpUser/httpPassword and the request did not match. */
  unauthorized: number
  /** Answered 403: the proxy's allowSources/denySources refused the visitor. */
  forbidden: number
  /** Answered 400: no usable Host or path. */
  badRequest: number
  /** Upgrades (WebSocket) switched to a pass-through connection. */
  upgrades: number
  /** Fleet relays: requests for a host served by another relay, answered through it over an inter-relay link. */
  forwarded: number
}

export interface HttpsVhostStats {
  /** TLS connections accepted on vhostHTTPSPort. */
  connections: number
  /** Passed to a proxy by their server name. */
  routed: number
  /** Closed with an unrecognized_name alert: no proxy serves the name. */
  unknownHost: number
  /** Closed: not a ClientHello, too long, or none within the time limit. */
  badHello: number
  /** Reset: the client or its local service could not be reached. */
  backendDown: number
  /** Reset: the proxy's allowSources/denySources refused the visitor. */
  forbidden: number
  /** Fleet relays: connections for a name served by another relay, passed on to it over an inter-relay link. */
  forwarded: number
}

export interface VhostStats {
  http: HttpVhostStats
  https: HttpsVhostStats
}

export function newVhostStats (): VhostStats {
  return {
    http: { requests: 0, notFound: 0, badGateway: 0, gatewayTimeout: 0, unauthorized: 0, forbidden: 0, badRequest: 0, upgrades: 0, forwarded: 0 },
    https: { connections: 0, routed: 0, unknownHost: 0, badHello: 0, backendDown: 0, forbidden: 0, forwarded: 0 },
  }
}
