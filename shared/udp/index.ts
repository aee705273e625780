// The public face of shared/udp/: what the rest of the code base uses of it (imports from outside
// the folder go through here; a dependency rule in npm test keeps it so).
export { DropWarner, type FlowCloseReason, type FlowTally, UDP_DROP_REASONS, type UdpCounters, type UdpDropReason, dropsSummary, flowFields, newFlowTally, newUdpCounters } from './counters.js'
export { FlowTable, nextFlowId } from './flow-table.js'
