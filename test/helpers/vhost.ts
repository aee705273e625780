// Relays with vhost ports for e2e tests, and frpc.yml text for http/https proxies. frp's vhost
// ports are fixed numbers (0 means off), so a free pair is picked and the start retried (bounded)
// when another test took one of them in the meantime.
import { startRelay, TEST_TOKEN, type RelayHandle } from './cli.js'
import { getFreePort } from './services.js'

const START_ATTEMPTS = 4

export interface VhostRelay extends RelayHandle {
  http: number
  https: number
}

export async function startVhostRelay (extraYaml = ''): Promise<VhostRelay> {
  let last: unknown
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const http = await getFreePort()
    const https = await getFreePort()
    if (http === https) continue
    // "relay listening" comes once the vhost ports are open too; a port taken meanwhile makes
    // the relay exit before it (exit 1), and the next attempt picks other ports.
    try {
      const relay = await startRelay({ extraYaml: `vhostHTTPPort: ${http}\nvhostHTTPSPort: ${https}\n${extraYaml}` })
      return { ...relay, http, https }
    } catch (err) {
      last = err
      if (!String(err).includes('TUN_PORT_IN_USE')) throw err
    }
  }
  throw new Error(`no relay with vhost ports after ${START_ATTEMPTS} attempts: ${String(last)}`)
}

export interface VhostProxyYaml {
  name: string
  type: 'http' | 'https'
  localPort: number
  /** More keys, as YAML lines under the proxy (already indented by 4). */
  extra?: string[]
}

export function vhostClientYaml (serverPort: number, proxies: readonly VhostProxyYaml[]): string {
  const lines = ['serverAddr: 127.0.0.1', `serverPort: ${serverPort}`, 'auth:', `  token: ${JSON.stringify(TEST_TOKEN)}`, 'proxies:']
  for (const p of proxies) {
    lines.push(`  - name: ${p.name}`, `    type: ${p.type}`, '    localIP: 127.0.0.1', `    localPort: ${p.localPort}`, ...(p.extra ?? []).map((l) => `    ${l}`))
  }
  return lines.join('\n') + '\n'
}
