// The shape of `tunnel bench --json`, as a zod schema: the one definition the report type,
// docs/loadtest.md (its field table is checked against this by a test) and
// docs/loadtest-report.schema.json (generated from it) come from. Bump REPORT_VERSION on any
// change that is not an added field.
import { z } from 'zod'
import { UDP_DROP_REASONS } from '../shared/udp/index.js'
import { ERROR_KINDS } from './error-kinds.js'

export const REPORT_VERSION = 1

const count = z.int().min(0)
const num = z.number().min(0)

const latency = z.strictObject({
  count: count.describe('samples'),
  min: num,
  mean: num,
  p50: num,
  p90: num,
  p99: num,
  p99_9: num.describe('99.9th percentile'),
  max: num,
}).describe('latency distribution in milliseconds, from an HDR histogram (3 significant digits)')

const relay = z.strictObject({
  admin: z.string().describe('the admin API asked (without credentials)'),
  role: z.enum(['relay', 'client']).describe('what answered: our relay, or a client'),
  proxies: z.array(z.string()).describe('proxies whose public port is the target\'s; empty = none matched and the figures are totals of all proxies'),
  sessions: count.describe('control sessions after the run'),
  streams: count.describe('tcp visitors the proxy carried during the run'),
  flows: count.describe('udp flows opened during the run'),
  bytesIn: count.describe('payload bytes visitor to service during the run, as the relay counted them'),
  bytesOut: count.describe('payload bytes service to visitor during the run'),
  visitorsRefused: count.describe('visitors refused by allowSources/denySources'),
  visitorsDropped: count.describe('tcp visitors closed without a stream (session closing, stream limit)'),
  udpDrops: z.partialRecord(z.enum(UDP_DROP_REASONS), count).describe('datagrams the relay dropped during the run, by reason (non-zero only)'),
  listenOverflows: count.nullable().describe('growth of ListenOverflows in the relay\'s network namespace (full accept queues); null where unreadable'),
  listenDrops: count.nullable().describe('growth of ListenDrops in that namespace'),
  errors: z.record(z.string(), count).describe('refusals and failures the relay counted during the run, by error code'),
  controlRttMs: z.strictObject({
    before: num.nullable(),
    max: num.nullable().describe('highest RTT seen while the load ran (polled every second)'),
    after: num.nullable(),
    samples: count.describe('RTT samples taken during the run'),
  }).describe('the control connection\'s RTT (of the session owning the proxy) in ms'),
  notes: z.array(z.string()).describe('plain-language notes on what the relay saw'),
})

const errorCounts = z.strictObject(Object.fromEntries(ERROR_KINDS.map((k) => [k, count])) as Record<typeof ERROR_KINDS[number], typeof count>)

export const benchReportSchema = z.strictObject({
  tool: z.literal('tunnel bench'),
  reportVersion: z.literal(REPORT_VERSION),
  protocol: z.enum(['tcp', 'udp', 'http']),
  workload: z.enum(['rr', 'connect', 'bulk', 'udp', 'http']).describe('what ran: tcp rr/connect/bulk, udp, http'),
  target: z.string().describe('HOST:PORT as given'),
  startedAt: z.string().describe('ISO 8601 time the run started'),
  settings: z.strictObject({
    durationS: num,
    maxOps: count.describe('bound on operations: requests, connections, datagrams (bulk: streams)'),
    concurrency: count.describe('connections (udp: flows) in use at once'),
    rate: num.nullable().describe('operations per second asked for (open loop); null = closed loop'),
    size: count.describe('request or datagram bytes'),
    replySize: count.describe('reply bytes expected per request (tcp rr, connect)'),
    timeoutMs: num,
    streams: count.describe('bulk streams'),
    direction: z.enum(['up', 'down']).describe('bulk: up = write to the target, down = read from it'),
    path: z.string().describe('http path'),
    keepAlive: z.boolean().describe('http: reuse connections'),
  }),
  stoppedBy: z.enum(['duration', 'count', 'aborted']),
  elapsedS: num.describe('seconds the load ran'),
  counts: z.strictObject({
    issued: count.describe('operations started'),
    ok: count,
    failed: count,
    abandoned: count.describe('in flight when the duration ended: neither ok nor failed'),
  }),
  errorRate: num.max(1).describe('failed / (ok + failed); 0 when nothing finished'),
  errors: errorCounts.describe('failed operations by kind'),
  errorExamples: z.partialRecord(z.enum(ERROR_KINDS), z.string()).describe('first errno or reason seen per kind'),
  throughput: z.strictObject({
    opsPerSecond: num.describe('successful operations per second'),
    bytesSent: count,
    bytesReceived: count,
    sentBitsPerSecond: num,
    receivedBitsPerSecond: num,
  }),
  latencyMs: latency.nullable().describe('per successful operation; null for bulk'),
  connectMs: latency.nullable().describe('TCP connect times; null for udp'),
  slowConnects: count.describe('connects that took >= 1 s (a SYN was retransmitted)'),
  connectTimeouts: count.describe('connects that did not finish within timeoutMs'),
  sendLagMs: latency.nullable().describe('open loop: how late the generator itself started operations; null for closed loop'),
  bulk: z.strictObject({
    bytesPerSecond: num.describe('all streams: bytes / (first connect to last stream end)'),
    bitsPerSecond: num,
    streams: z.array(z.strictObject({
      bytes: count,
      seconds: num,
      bitsPerSecond: num,
      verified: z.boolean().describe('the sink replied a byte count equal to the bytes written'),
    })),
  }).nullable(),
  udp: z.strictObject({
    sent: count,
    received: count.describe('distinct datagrams echoed back'),
    lost: count,
    lossRate: num.max(1),
    duplicates: count,
    reordered: count.describe('arrived after a higher sequence number of the same flow'),
    invalid: count.describe('echoed with a sequence number never sent'),
    foreign: count.describe('datagrams that were not ours (another sender, truncated)'),
    sentPerSecond: num,
    receivedPerSecond: num,
  }).nullable(),
  findings: z.array(z.string()).describe('plain-language hints on where the limit is'),
  relay: relay.nullable().describe('with --admin: what the relay saw during the run; null without it'),
  thresholds: z.strictObject({
    maxErrorRate: num.nullable(),
    maxP99Ms: num.nullable(),
    passed: z.boolean(),
    violations: z.array(z.string()),
  }),
  env: z.strictObject({
    node: z.string(),
    platform: z.string(),
    cpus: count,
  }),
})

export type BenchReport = z.infer<typeof benchReportSchema>
export type RelaySection = z.infer<typeof relay>

/** The JSON Schema of the report (draft 2020-12), for docs/loadtest-report.schema.json. */
export function benchReportJsonSchema (): Record<string, unknown> {
  return z.toJSONSchema(benchReportSchema)
}
