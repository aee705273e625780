// The public face of shared/metrics/: what the rest of the code base uses of it (imports from outside
// the folder go through here; a dependency rule in npm test keeps it so).
export { TunnelMetrics } from './tunnel-metrics.js'
