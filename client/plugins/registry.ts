// Every client plugin by its frp type: adding one is a module under client/plugins/ and a line
// here (the type comes first in shared/config/plugin-schema.ts, with its keys).
import type { PluginConfig, PluginType } from '../../shared/config/index.js'
import { createHttpBridge } from './http-bridge.js'
import { createHttpProxy } from './http-proxy.js'
import type { ClientPlugin, PluginContext, PluginFactory } from './plugin.js'
import { createSocks5 } from './socks5.js'
import { createStaticFile } from './static-file.js'
import { createTls2Raw } from './tls2raw.js'
import { createUnixDomainSocket } from './unix-domain-socket.js'

const FACTORIES: { readonly [T in PluginType]: PluginFactory<T> } = {
  http_proxy: createHttpProxy,
  socks5: createSocks5,
  static_file: createStaticFile,
  unix_domain_socket: createUnixDomainSocket,
  http2http: createHttpBridge,
  http2https: createHttpBridge,
  https2http: createHttpBridge,
  https2https: createHttpBridge,
  tls2raw: createTls2Raw,
}

export function createPlugin (config: PluginConfig, ctx: PluginContext): ClientPlugin {
  const factory = FACTORIES[config.type] as PluginFactory<PluginConfig['type']>
  return factory(config, ctx)
}
