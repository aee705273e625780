// The public face of client/health/: frp's healthCheck of a proxy's local service.
export { checkFor, httpCheck, MAX_HEALTH_BODY_BYTES, tcpCheck } from './health-check.js'
export { HealthMonitor, type HealthCheckFn, type HealthCounts, type HealthMonitorOptions, type HealthState, nextHealth } from './health-monitor.js'
