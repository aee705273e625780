// The public face of client/proxy/: what the rest of the code base uses of it (imports from outside
// the folder go through here; a dependency rule in npm test keeps it so).
export { ProxyManager } from './manager.js'
export { type ProxyChange, type ProxyDiff, diffProxies, relayChanged, sameSettings } from './proxy-diff.js'
export { type ClientProxyPhase, type ProxyEntry } from './proxy-entry.js'
export { fixedSettingChanges } from './settings-diff.js'
export { HOME_REFUSALS, HOME_VISIT_WINDOW_MS, type HomeRefusal, type SecretGate } from './secret-gate.js'
