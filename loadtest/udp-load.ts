// udp: datagrams at a fixed rate (open loop) over `concurrency` flows (one connected socket
// each), to an echo that sends every datagram back. Each carries its sequence number and send
// time (udp-payload.ts), so the replies give loss, reordering, duplicates and latency. After the
// sending ends, replies are awaited for up to one timeout; what has not come back by then is lost.
import { randomBytes } from 'node:crypto'
import { createSocket, type Socket } from 'node:dgram'
import { lookup } from 'node:dns/promises'
import { OpFailure } from './error-kinds.js'
import type { BenchPlan } from './plan.js'
import { sleep, type RunState } from './run-state.js'
import { readHeader, SequenceTracker, writeHeader, type SequenceCounts } from './udp-payload.js'

/** Datagrams sent in one turn of the event loop at most, so replies are read in between. */
const MAX_BURST = 256
/** Socket buffers asked for (the kernel caps them at net.core.rmem_max / wmem_max). */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024
const DRAIN_POLL_MS = 5

export interface UdpResult extends SequenceCounts {
  /** Datagrams the kernel accepted for sending. */
  sent: number
  lost: number
  /** lost / sent. */
  lossRate: number
  /** Datagrams of another sender (or malformed) that arrived on our sockets. */
  foreign: number
  /** Datagrams per second actually sent (the offered load). */
  sentPerSecond: number
  /** Distinct replies per second. */
  receivedPerSecond: number
}

async function openFlows (plan: BenchPlan, state: RunState, onMessage: (msg: Buffer) => void): Promise<Socket[]> {
  const { address, family } = await lookup(plan.target.host)
  const sockets: Socket[] = []
  for (let i = 0; i < plan.concurrency; i++) {
    const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4', recvBufferSize: SOCKET_BUFFER_BYTES, sendBufferSize: SOCKET_BUFFER_BYTES })
    // A connected socket reports ICMP port unreachable as ECONNREFUSED: a refused datagram.
    socket.on('error', (err) => { state.fail(OpFailure.from(err)) })
    socket.on('message', onMessage)
    sockets.push(socket)
    await new Promise<void>((resolve) => { socket.connect(plan.target.port, address, resolve) })
  }
  return sockets
}

interface SendCounts {
  /** Accepted by the kernel. */
  sent: number
  /** Handed to send() whose callback has not run yet. */
  pending: number
}

async function sendAll (plan: BenchPlan, state: RunState, sockets: Socket[], runId: number, counts: SendCounts): Promise<void> {
  const template = Buffer.alloc(plan.size, 0x75)
  for (;;) {
    const now = performance.now()
    let burst = 0
    for (; burst < MAX_BURST && state.nextDueAt() <= now; burst++) {
      const claim = state.claim()
      if (claim === undefined) return
      const flow = claim.index % sockets.length
      const buf = Buffer.from(template)
      const sentAtMs = performance.now()
      writeHeader(buf, { runId, seq: claim.index, flow, sentAtMs })
      state.sendLag.record(Math.max(0, sentAtMs - claim.dueAt) * 1000)
      counts.pending++
      sockets[flow]?.send(buf, (err) => {
        counts.pending--
        if (err === null || err === undefined) {
          state.bytesSent += buf.length
          counts.sent++
        } else state.fail(OpFailure.from(err))
      })
    }
    if (state.stopped) return
    // Behind schedule: yield once so replies are read, then go on. Otherwise sleep until the next
    // datagram is due (timers have 1 ms granularity: at high rates datagrams leave in 1 ms bursts).
    if (burst === MAX_BURST) await new Promise((resolve) => setImmediate(resolve))
    else await sleep(Math.max(1, Math.min(state.nextDueAt(), state.deadline) - performance.now()), state.signal)
  }
}

export async function runUdp (plan: BenchPlan, state: RunState): Promise<UdpResult> {
  const runId = randomBytes(4).readUInt32BE(0)
  const maxSeq = Math.min(plan.maxOps, Math.ceil(((plan.rate ?? 1) * plan.durationMs) / 1000) + 1)
  const tracker = new SequenceTracker(maxSeq, plan.concurrency)
  const counts: SendCounts = { sent: 0, pending: 0 }
  let foreign = 0
  const onMessage = (msg: Buffer): void => {
    const h = readHeader(msg, runId)
    if (h === undefined) {
      foreign++
      return
    }
    state.bytesReceived += msg.length
    if (tracker.record(h.seq, h.flow, state.issued)) state.succeed((performance.now() - h.sentAtMs) * 1000)
  }
  const sockets = await openFlows(plan, state, onMessage)
  try {
    await sendAll(plan, state, sockets, runId, counts)
    state.stop('duration')
    state.activeUntil = performance.now()
    const drainUntil = performance.now() + plan.timeoutMs
    const outstanding = (): boolean => counts.pending > 0 || tracker.counts.received + state.errors.refused < counts.sent
    while (outstanding() && performance.now() < drainUntil && !state.signal.aborted) {
      await sleep(DRAIN_POLL_MS, state.signal)
    }
  } finally {
    for (const s of sockets) s.close()
  }
  // A datagram refused by ICMP port unreachable is already counted as `refused`.
  const sent = counts.sent
  const lost = Math.max(0, sent - tracker.counts.received - state.errors.refused)
  state.failMany('timeout', lost, `${lost} datagram(s) not echoed within ${plan.timeoutMs} ms`)
  const seconds = state.elapsedMs() / 1000
  return {
    ...tracker.counts,
    sent,
    lost,
    lossRate: sent === 0 ? 0 : lost / sent,
    foreign,
    sentPerSecond: seconds > 0 ? sent / seconds : 0,
    receivedPerSecond: seconds > 0 ? tracker.counts.received / seconds : 0,
  }
}
