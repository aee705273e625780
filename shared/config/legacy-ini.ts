// frp's legacy INI format (a `[common]` section, snake_case keys): frp deprecated it in v0.52 and
// this tunnel does not read it. Whatever the file is called (frpc.ini, frpc.toml, frpc.yml), a
// `[common]` line gets one error at that line saying so, with the v1 names of the keys the file
// uses, instead of a page of "unknown key" or TOML syntax errors. frp ships no converter.
import type { ConfigIssue } from '../errors.js'
import { SourceMap } from './locate.js'

/** Legacy keys → frp v1 keys, the common ones (frp's pkg/config/legacy has them all). */
const V1_NAMES: Readonly<Record<string, string>> = {
  server_addr: 'serverAddr',
  server_port: 'serverPort',
  token: 'auth.token',
  user: 'user',
  login_fail_exit: 'loginFailExit',
  protocol: 'transport.protocol',
  heartbeat_interval: 'transport.heartbeatInterval',
  heartbeat_timeout: 'transport.heartbeatTimeout',
  log_level: 'log.level',
  admin_addr: 'webServer.addr',
  admin_port: 'webServer.port',
  admin_user: 'webServer.user',
  admin_pwd: 'webServer.password',
  bind_addr: 'bindAddr',
  bind_port: 'bindPort',
  vhost_http_port: 'vhostHTTPPort',
  vhost_https_port: 'vhostHTTPSPort',
  subdomain_host: 'subDomainHost',
  allow_ports: 'allowPorts',
  max_ports_per_client: 'maxPortsPerClient',
  dashboard_addr: 'webServer.addr',
  dashboard_port: 'webServer.port',
  dashboard_user: 'webServer.user',
  dashboard_pwd: 'webServer.password',
  local_ip: 'localIP',
  local_port: 'localPort',
  remote_port: 'remotePort',
  custom_domains: 'customDomains',
  use_encryption: 'transport.useEncryption',
  use_compression: 'transport.useCompression',
  proxy_protocol_version: 'transport.proxyProtocolVersion',
  bandwidth_limit: 'transport.bandwidthLimit',
  host_header_rewrite: 'hostHeaderRewrite',
  http_user: 'httpUser',
  http_pwd: 'httpPassword',
}
/** Key renames listed in the message at most. */
const MAX_RENAMES_SHOWN = 8

/** The `[common]` line of a legacy INI file as one issue, or undefined when there is none. */
export function legacyIniIssue (text: string, file: string): ConfigIssue | undefined {
  const m = /^[ \t]*\[common\][ \t]*\r?$/m.exec(text)
  if (m === null) return undefined
  const used = new Set([...text.matchAll(/^[ \t]*([a-z][a-z0-9_]*)[ \t]*=/gm)].map((k) => k[1] ?? ''))
  const renames = Object.entries(V1_NAMES).filter(([legacy, v1]) => used.has(legacy) && legacy !== v1).slice(0, MAX_RENAMES_SHOWN)
  const here = renames.length === 0 ? '' : ` Here: ${renames.map(([a, b]) => `${a} → ${b}`).join(', ')}.`
  const message = 'this is frp\'s legacy INI format ([common], snake_case keys), which frp deprecated in v0.52 and this tunnel does not read. ' +
    'Rewrite it in frp\'s v1 format (TOML, YAML or JSON; frp has no converter): camelCase keys, and each [name] section becomes an entry of proxies with name = "name" (see configs/ and docs/config.md).' +
    here + ' Then check the new file with tunnel verify (frp\'s own frpc verify / frps verify accept it too).'
  return { code: 'TUN_CONFIG_INVALID', message, location: new SourceMap(file, text).atOriginal(m.index, '') }
}
