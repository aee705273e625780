// The load tester behind `tunnel bench` and the echo service behind `tunnel echo`.
// Product code: imports only shared/.
export { planBench, PROTOCOLS, TCP_MODES, type BenchPlan, type PlanInput, type Protocol, type Workload } from './plan.js'
export { runBench, type RunOptions } from './runner.js'
export { RelayWatch, relaySection, proxiesUnderLoad, controlRtt } from './relay-watch.js'
export { formatReport, formatBits } from './report-text.js'
export { benchReportSchema, benchReportJsonSchema, REPORT_VERSION, type BenchReport, type RelaySection } from './report-schema.js'
export { ERROR_KINDS, type ErrorKind } from './error-kinds.js'
export { EchoService, type EchoServiceOptions, type EchoPorts } from './echo-service.js'
export { ECHO_MODES, type EchoMode, type EchoCounters } from './echo-stats.js'
export { MAX_UDP_BURST } from './echo-udp.js'
export { parseTarget, formatTarget, type Target } from './target.js'
export type { ProgressMode } from './progress.js'
export * as LIMITS from './limits.js'
