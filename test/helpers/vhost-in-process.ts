// A relay in this process with both vhost ports on free loopback ports (frp's vhost ports are fixed
// numbers, so a free pair is picked and the start retried, bounded, when another test took one in
// the meantime). Closed by closeInProcess() like every relay of in-process.ts.
import type { Logger } from 'pino'
import type { Relay, RelayOptions } from '../../server/index.js'
import { silentLogger } from '../../shared/log.js'
import { startRelayInProcess } from './in-process.js'
import { getFreePort } from './services.js'

const START_ATTEMPTS = 4

export interface VhostRelayInProcess {
  relay: Relay
  /** The control port. */
  port: number
  http: number
  https: number
}

export async function startVhostRelayInProcess (extraYaml = '', log: Logger = silentLogger(), options: RelayOptions = {}): Promise<VhostRelayInProcess> {
  let last: unknown
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const http = await getFreePort()
    const https = await getFreePort()
    if (http === https) continue
    try {
      const { relay, port } = await startRelayInProcess(`vhostHTTPPort: ${http}\nvhostHTTPSPort: ${https}\n${extraYaml}`, log, 0, options)
      return { relay, port, http, https }
    } catch (err) {
      last = err
      if ((err as { code?: unknown }).code !== 'TUN_PORT_IN_USE') throw err
    }
  }
  throw new Error(`no relay with vhost ports after ${START_ATTEMPTS} attempts: ${String(last)}`)
}
