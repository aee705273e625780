// Defaults and hard caps of `tunnel bench`: every run is bounded in time and in count, whatever
// the flags say. Caps are far above what one machine can drive, low enough that a typo
// (`--duration 36000`) cannot turn a load test into a flood.

export const DEFAULT_DURATION_S = 10
export const MAX_DURATION_S = 3_600
/** Operations (requests, connections, datagrams) per run when --requests is not given. */
export const DEFAULT_MAX_OPS = 1_000_000
export const MAX_OPS = 100_000_000
export const DEFAULT_CONCURRENCY = 10
/** Above the default fd limit of most shells (1,024) only with `ulimit -n` raised. */
export const MAX_CONCURRENCY = 10_000
/** Operations per second at most with --rate (datagrams per second for UDP). */
export const MAX_RATE = 1_000_000
export const DEFAULT_TIMEOUT_MS = 3_000
export const MAX_TIMEOUT_MS = 60_000
export const DEFAULT_TCP_SIZE_BYTES = 64
export const MAX_TCP_SIZE_BYTES = 1024 * 1024
/** Sequence number, flow, run id and timestamp travel in the first bytes of every datagram. */
export const UDP_HEADER_BYTES = 24
export const DEFAULT_UDP_SIZE_BYTES = 512
/** Largest UDP payload over IPv4. */
export const MAX_UDP_SIZE_BYTES = 65_507
/** Beyond this a datagram risks IP fragmentation on real paths (DESIGN.md section 2.5). */
export const SAFE_UDP_SIZE_BYTES = 1_200
export const DEFAULT_UDP_RATE = 1_000
export const MAX_UDP_FLOWS = 256
export const DEFAULT_BULK_STREAMS = 1
export const MAX_BULK_STREAMS = 256
/** Bytes per bulk stream at most (the duration ends a bulk run long before, on any real link). */
export const MAX_BULK_BYTES = 2 ** 40
export const BULK_CHUNK_BYTES = 64 * 1024
/** A connect that takes this long has needed a SYN retransmission (Linux: first retry after 1 s). */
export const SLOW_CONNECT_MS = 1_000
export const PROGRESS_INTERVAL_MS = 1_000
/** The run is torn down this long after its duration plus one timeout, whatever is in flight. */
export const END_GRACE_MS = 2_000
/** Latencies above this are recorded as this (one hour, in microseconds). */
export const MAX_RECORDED_US = 3_600_000_000
