// The config module's public face: load and check frps.yml / frpc.yml, detect which one a
// file is, and the JSON Schemas editors use. Types and defaults come from types.ts.

import { jsonSchemaFor } from './schema.js'

export type { ConfigWarning } from './checks.js'
export type { Env } from './env.js'
export type { ConfigKind, Loaded } from './load.js'
export {
  defaultClientID,
  loadClientConfig,
  loadServerConfig,
  parseClientConfig,
  parseServerConfig,
  readConfigFile,
} from './load.js'
export { formatConfigWarning } from './checks.js'
export { detectConfigKind } from './detect-kind.js'
export { isLegacyIni } from './legacy-ini.js'
export { legacyIniAsV1Yaml } from './legacy-print.js'
export { FRP_KEYS, LOG_LEVELS, PROXY_NAME } from './schema.js'
export type { FrpKey } from './schema.js'
export { PLUGIN_TYPES, type PluginType } from './plugin-schema.js'
export * from './types.js'

/** The JSON Schema of frps.yml (committed as configs/frps.schema.json). */
export function serverConfigJsonSchema (): object {
  return jsonSchemaFor('server')
}

/** The JSON Schema of frpc.yml (committed as configs/frpc.schema.json). */
export function clientConfigJsonSchema (): object {
  return jsonSchemaFor('client')
}
export { adminBindProblem, adminOpenWithoutCredentials, DEFAULT_ADMIN_ADDR, isLoopbackHost, type AdminBindSettings } from './admin-bind.js'
export { keyFilePath, readKeyFile } from './keys.js'
export { pluginUrl } from './group-load.js'
export { describeProxy, noProxyMatches, parseProxyUrl, proxyEnvNames, proxyFromEnv, type ProxyScheme, type ProxyUrl } from './proxy-url.js'
export { pemFileProblem } from './transport-load.js'
export type { LoadOptions, MissingFiles } from './missing-files.js'
