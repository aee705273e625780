// The public face of server/plugin/: frps.yml's httpPlugins (frp's server plugin protocol).
export { HttpPlugin, MAX_PLUGIN_ANSWER_BYTES, MAX_PLUGIN_CALLS_IN_FLIGHT, MAX_PLUGIN_CALLS_WAITING, PLUGIN_API_VERSION, PLUGIN_TIMEOUT_MS, type PluginCallResult, type PluginCounters } from './http-plugin.js'
export { CallLimit } from './call-limit.js'
export { type PluginAnswer, parsePluginAnswer } from './plugin-answer.js'
export { closeProxyContent, loginChanges, loginContent, newProxyContent, newUserConnContent, newWorkConnContent, pingContent, type PluginUser, specFromContent } from './plugin-content.js'
export { RelayPlugins } from './relay-plugins.js'
