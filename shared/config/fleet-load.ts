// frps.yml's `fleet:` block, completed: defaults filled in, file paths resolved against the
// config file's folder. Absent stays null (a single relay).
import { hostname } from 'node:os'
import { keyFilePath } from './keys.js'
import type { ServerInput } from './schema.js'
import { SERVER_DEFAULTS, type FleetConfig } from './types.js'

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
