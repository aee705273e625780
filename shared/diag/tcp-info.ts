// The detail line `ss -i` prints under a TCP socket (the kernel's tcp_info), e.g.
//   ts sack bbr wscale:10,10 rto:204 rtt:0.402/0.339 ato:40 mss:1348 pmtu:1400 rcvmss:1348
//   advmss:1448 cwnd:262 bytes_retrans:21720 ... send 7028378109bps ... retrans:0/18 ...
// Fields a kernel or iproute2 version does not print stay undefined; unknown tokens are ignored.

export interface TcpInfo {
  /** Send MSS: the segment size this end uses now (follows the path MTU it learned). */
  mss?: number
  /** The MSS this end advertised (from its own interface MTU). */
  advmss?: number
  /** The path MTU this socket knows for its sending direction. */
  pmtu?: number
  /** The peer's segment size as seen here; 536 until data arrived. */
  rcvmss?: number
  rttMs?: number
  rttVarMs?: number
  minRttMs?: number
  rtoMs?: number
  cwnd?: number
  ssthresh?: number
  /** Segments retransmitted and not yet acknowledged. */
  retransCurrent?: number
  /** Retransmissions over the life of the socket. */
  retransTotal?: number
  bytesRetrans?: number
  bytesSent?: number
  bytesAcked?: number
  bytesReceived?: number
  segsOut?: number
  segsIn?: number
  dataSegsOut?: number
  dataSegsIn?: number
  unacked?: number
  lost?: number
  backoff?: number
  /** ss's estimate cwnd × mss / rtt, in bit/s. */
  sendBps?: number
  pacingBps?: number
  deliveryBps?: number
  lastSendMs?: number
  lastRecvMs?: number
  lastAckMs?: number
  /** Congestion control (cubic, bbr, reno, ...). */
  congestion?: string
  /** Bare option words: ts, sack, ecn, ecnseen, fastopen, app_limited, ... */
  flags: string[]
}

type NumericKey = Exclude<keyof TcpInfo, 'congestion' | 'flags' | 'rttMs' | 'rttVarMs' | 'retransCurrent' | 'retransTotal' | 'sendBps' | 'pacingBps' | 'deliveryBps'>

const NUMERIC: Record<string, NumericKey> = {
  mss: 'mss',
  advmss: 'advmss',
  pmtu: 'pmtu',
  rcvmss: 'rcvmss',
  minrtt: 'minRttMs',
  rto: 'rtoMs',
  cwnd: 'cwnd',
  ssthresh: 'ssthresh',
  bytes_retrans: 'bytesRetrans',
  bytes_sent: 'bytesSent',
  bytes_acked: 'bytesAcked',
  bytes_received: 'bytesReceived',
  segs_out: 'segsOut',
  segs_in: 'segsIn',
  data_segs_out: 'dataSegsOut',
  data_segs_in: 'dataSegsIn',
  unacked: 'unacked',
  lost: 'lost',
  backoff: 'backoff',
  lastsnd: 'lastSendMs',
  lastrcv: 'lastRecvMs',
  lastack: 'lastAckMs',
}

const RATES: Record<string, 'sendBps' | 'pacingBps' | 'deliveryBps'> = {
  send: 'sendBps',
  pacing_rate: 'pacingBps',
  delivery_rate: 'deliveryBps',
}

/** Words ss prints that are options or states, not the congestion control's name. */
const OPTION_WORDS = new Set(['ts', 'sack', 'ecn', 'ecnseen', 'fastopen', 'app_limited', 'orphaned', 'ecn_low'])

const RATE = /^(\d+(?:\.\d+)?)([KMGT]?)bps$/
const RATE_UNIT: Record<string, number> = { '': 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12 }

/** A rate as ss prints it (`7028378109bps`, or `7.0Gbps` without -n) in bit/s. */
export function parseRate (text: string): number | undefined {
  const m = RATE.exec(text)
  if (m === null) return undefined
  return Number(m[1]) * (RATE_UNIT[m[2] ?? ''] ?? 1)
}

const num = (text: string): number | undefined => {
  if (!/^\d+(?:\.\d+)?$/.test(text)) return undefined
  return Number(text)
}

export function parseTcpInfo (line: string): TcpInfo {
  const info: TcpInfo = { flags: [] }
  const tokens = line.trim().split(/\s+/).filter((t) => t !== '')
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string
    const rateKey = RATES[token]
    if (rateKey !== undefined) {
      const rate = parseRate(tokens[i + 1] ?? '')
      if (rate !== undefined) { info[rateKey] = rate; i++ }
      continue
    }
    const colon = token.indexOf(':')
    if (colon === -1) {
      if (OPTION_WORDS.has(token) || info.congestion !== undefined || !/^[a-z][a-z0-9_]*$/.test(token)) info.flags.push(token)
      else info.congestion = token
      continue
    }
    readPair(info, token.slice(0, colon), token.slice(colon + 1))
  }
  return info
}

function readPair (info: TcpInfo, key: string, value: string): void {
  const field = NUMERIC[key]
  if (field !== undefined) {
    const v = num(value)
    if (v !== undefined) info[field] = v
    return
  }
  if (key === 'rtt') {
    const [rtt = '', variance = ''] = value.split('/')
    const r = num(rtt)
    const v = num(variance)
    if (r !== undefined) info.rttMs = r
    if (v !== undefined) info.rttVarMs = v
  } else if (key === 'retrans') {
    const [current = '', total] = value.split('/')
    const c = num(current)
    if (c !== undefined) info.retransCurrent = c
    const t = total === undefined ? undefined : num(total)
    if (t !== undefined) info.retransTotal = t
  }
}
