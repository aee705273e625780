// Built-in diagnostics: kernel facts about the tunnel's sockets (MSS and path MTU, backlog and
// accept queues, keepalive, connection states, fds), plain advice, and the report's two forms.
export { advise, buildReport, hasProblems } from './advice/index.js'
export { collectFacts, MAX_WINDOW_MS, type CollectOptions } from './collect.js'
export { renderReport } from './render.js'
export { REPORT_SCHEMA, type DiagFacts, type DiagReport, type Finding, type Severity } from './report.js'
export { SS_TIMEOUT_MS, type SourceOptions } from './sources.js'
export { portsTarget, type ControlMatch, type DiagTarget, type ListenTarget } from './target.js'
export { type ProbeOutcome, type ProbeResult, natTimeoutReport, renderNatTimeout, isNatProbeOf, natProbeClientId, natProbeRun } from './nat-timeout.js'
export { type PeerView, parsePeerView } from './peer-view.js'
export { parseLimits, parseNetstat } from './proc-parse.js'
export { renderTable } from './render.js'
export { printable, quotedName } from './cell-text.js'
export { readFdCount, readProc } from './sources.js'
