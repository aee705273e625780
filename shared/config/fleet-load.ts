// frps.yml's `fleet:` block, completed: defaults filled in, file paths resolved against the
// config file's folder. Absent stays null (a single relay).
import { hostname } from 'node:os'
import { keyFilePath } from './keys.js'
import { parseHostPort } from '../net/index.js'
import type { ClientInput, ServerInput } from './schema.js'
import { CLIENT_DEFAULTS, SERVER_DEFAULTS, type ClientFleetConfig, type FleetConfig } from './types.js'

/** A node name from the host name: the characters a nodeName allows, at most 64. */
export function defaultNodeName (host: string = hostname()): string {
  const cleaned = host.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64)
  return cleaned === '' ? 'relay' : cleaned
}

export function completeFleet (d: ServerInput, file: string): FleetConfig | null {
  const f = d.fleet
  if (f === undefined) return null
  const prefix = f.etcd.prefix ?? SERVER_DEFAULTS.fleetPrefix
  return {
    nodeName: f.nodeName ?? defaultNodeName(),
    advertiseAddr: f.advertiseAddr,
    etcd: {
      endpoints: [...f.etcd.endpoints],
      prefix: prefix.endsWith('/') ? prefix : `${prefix}/`,
      caFile: f.etcd.caFile === undefined ? null : keyFilePath(file, f.etcd.caFile),
      certFile: f.etcd.certFile === undefined ? null : keyFilePath(file, f.etcd.certFile),
      keyFile: f.etcd.keyFile === undefined ? null : keyFilePath(file, f.etcd.keyFile),
      requestTimeout: f.etcd.requestTimeout ?? SERVER_DEFAULTS.fleetRequestTimeout,
    },
  }
}

/** frpc.yml's fleet block; servers that are not host:port were refused by the checks already. */
export function completeClientFleet (d: ClientInput): ClientFleetConfig | null {
  const f = d.fleet
  if (f === undefined) return null
  const servers = (f.servers ?? []).flatMap((text) => {
    const hp = parseHostPort(text)
    return 'error' in hp ? [] : [{ host: hp.host, port: hp.port }]
  })
  return { servers, connections: f.connections ?? CLIENT_DEFAULTS.fleetConnections }
}
