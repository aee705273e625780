// `ss -t -n` output in all the shapes we ask for: with or without the state column (`state X`
// filters drop it), with or without the header, with `-i` detail lines (they start with
// whitespace), `-o` timers and `-p` users on the first line. Lines that do not parse are
// counted, never thrown: a report with a skipped line beats no report.
import { parseSsEndpoint, type SsEndpoint } from './ss-address.js'
import { parseSsTimer, type SsTimer } from './ss-timer.js'
import { parseTcpInfo, type TcpInfo } from './tcp-info.js'

/** ss's state names: ESTAB, SYN-SENT, SYN-RECV, FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT, CLOSE-WAIT, LAST-ACK, LISTEN, CLOSING, UNCONN. */
export type TcpState = string

export interface SsUser {
  name: string
  pid: number
  fd: number
}

export interface SsSocket {
  state: TcpState
  /** LISTEN: connections waiting in the accept queue. Else: bytes not yet read. */
  recvQ: number
  /** LISTEN: the effective backlog (min of asked and somaxconn). Else: bytes not yet acknowledged. */
  sendQ: number
  local: SsEndpoint
  peer: SsEndpoint
  timer: SsTimer | null
  /** Owners from `-p` (empty without -p, or for sockets of processes we may not look into). */
  users: SsUser[]
  /** From the `-i` detail line. */
  info: TcpInfo | null
}

export interface SsParseResult {
  sockets: SsSocket[]
  /** Lines that were neither a socket, its detail line, a header nor empty. */
  skipped: string[]
}

export interface SsParseOptions {
  /** The state of rows without a state column (output of `ss ... state X`). Default ESTAB. */
  state?: TcpState
}

/** Skipped lines kept (the first ones), so odd output cannot grow the report without bound. */
export const MAX_SKIPPED_LINES = 100

const STATE = /^[A-Z][A-Z0-9-]*$/
const NETIDS = new Set(['tcp', 'tcp6', 'mptcp'])
const HEADER = /^(State|Netid|Recv-Q)\s/
const USER = /\("((?:[^"\\]|\\.)*)",pid=(\d+),fd=(\d+)\)/g
const TIMER = /timer:\(([^)]*)\)/

export function parseSs (text: string, options: SsParseOptions = {}): SsParseResult {
  const sockets: SsSocket[] = []
  const skipped: string[] = []
  const skip = (line: string): void => { if (skipped.length < MAX_SKIPPED_LINES) skipped.push(line) }
  let last: SsSocket | undefined
  for (const line of text.split('\n')) {
    if (line.trim() === '' || HEADER.test(line)) continue
    if (/^\s/.test(line)) {
      if (last === undefined) skip(line)
      else last.info = parseTcpInfo(line)
      continue
    }
    const socket = parseRow(line, options.state ?? 'ESTAB')
    if (socket === undefined) { skip(line); last = undefined; continue }
    sockets.push(socket)
    last = socket
  }
  return { sockets, skipped }
}

function parseRow (line: string, defaultState: TcpState): SsSocket | undefined {
  const tokens = line.trim().split(/\s+/)
  let i = 0
  if (NETIDS.has(tokens[0] ?? '')) i++
  let state = defaultState
  if (!/^\d+$/.test(tokens[i] ?? '')) {
    if (!STATE.test(tokens[i] ?? '')) return undefined
    state = tokens[i] as string
    i++
  }
  const [recvQ, sendQ, localText, peerText] = tokens.slice(i, i + 4)
  if (recvQ === undefined || sendQ === undefined || localText === undefined || peerText === undefined) return undefined
  if (!/^\d+$/.test(recvQ) || !/^\d+$/.test(sendQ)) return undefined
  const local = parseSsEndpoint(localText)
  const peer = parseSsEndpoint(peerText)
  if (local === undefined || peer === undefined) return undefined
  const rest = tokens.slice(i + 4).join(' ')
  const timerText = TIMER.exec(rest)?.[1]
  const users = [...rest.matchAll(USER)].map((m) => ({ name: m[1] ?? '', pid: Number(m[2]), fd: Number(m[3]) }))
  return {
    state,
    recvQ: Number(recvQ),
    sendQ: Number(sendQ),
    local,
    peer,
    timer: timerText === undefined ? null : parseSsTimer(timerText) ?? null,
    users,
    info: null,
  }
}

/** Counts of sockets per state, in a stable key order (states with 0 are left out). */
export function countStates (sockets: readonly SsSocket[]): Record<TcpState, number> {
  const counts: Record<TcpState, number> = {}
  for (const s of sockets) counts[s.state] = (counts[s.state] ?? 0) + 1
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)))
}
