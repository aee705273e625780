// The public face of client/plugins/: frp's client plugins (one module each, one interface in
// plugin.ts, created by type in registry.ts) and the forwarder that hands them a proxy's streams.
export { hasPlugin, PluginForwarder, type PluginProxy } from './forwarder.js'
export { createPlugin } from './registry.js'
export type { ClientPlugin, PluginConn, PluginContext, PluginEvents, PluginFactory } from './plugin.js'
