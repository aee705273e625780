// The relay's side of secret proxies (stcp, sudp): the directory of those online, the broker that
// checks each visit and joins it to its home client, and what a visitor session may do.
export { MAX_VISITS_PER_HOME_SESSION, SecretDirectory, type SecretEndpoint, type VisitorSide } from './directory.js'
export { VisitBroker, type VisitBrokerOptions, type VisitForwarder } from './broker.js'
export { FAILED_GUESSES, newVisitRefusalCounts, VISIT_REFUSALS, type VisitRefusal, type VisitRefusalCounts } from './reasons.js'
export { MAX_VISITS_PER_SESSION, VISIT_FAILURE_BURST, VISIT_FAILURE_REFILL_PER_S, VisitGuard } from './visit-guard.js'
