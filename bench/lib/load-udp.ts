// UDP load: (1) datagrams at a fixed offered rate to a sink that counts what arrives, giving
// throughput and the delivered fraction (1 − loss); (2) sequential small datagrams to an echo,
// giving request/response latency. The sink is asked for its counts with control datagrams
// (`UDPSINK?reset`, `UDPSINK?report`) from a socket of their own, retried on loss.
import { createSocket, type Socket } from 'node:dgram'
import { latencyPercentiles } from './stats.js'

export const SINK_MAGIC = 'UDPSINK?'
const CONTROL_TIMEOUT_MS = 500
const CONTROL_ATTEMPTS = 5
/** After the last datagram, the sink's count is read until it stops growing, for at most this. */
const SETTLE_MAX_MS = 2_000
const SETTLE_STEP_MS = 100
/** Datagrams are not handed to the socket while its own send queue holds more than this. */
const SEND_QUEUE_BYTES = 1024 * 1024
/**
 * When the generator falls behind (its event loop was busy), at most this many milliseconds of
 * datagrams are sent at once; the rest are skipped and counted, so a late tick never turns into
 * a burst of thousands that measures the burst instead of the rate.
 */
const MAX_CATCH_UP_MS = 5
/** An rr datagram with no answer after this is counted as lost and the next one is sent. */
const RR_LOSS_MS = 200

export interface UdpRateLimits {
  /** Offered datagrams per second. */
  ratePerSecond: number
  /** Payload bytes per datagram. */
  size: number
  /** Sending lasts this long. */
  maxMs: number
  /** Fail if the run has not finished this long after the start. */
  timeoutMs: number
}

export interface UdpRateResult {
  sent: number
  /** Datagrams the generator could not send in time (its loop was late, or its socket queue full). */
  skipped: number
  received: number
  receivedBytes: number
  /** From the first to the last datagram sent. */
  seconds: number
}

export async function openUdp (host: string, port: number): Promise<Socket> {
  const socket = createSocket('udp4')
  socket.on('error', () => { /* ICMP and the like: loss is what we measure */ })
  await new Promise<void>((resolve) => { socket.connect(port, host, resolve) })
  return socket
}

/** One control request to the sink; resolves with its JSON answer. */
async function control (host: string, port: number, command: 'reset' | 'report'): Promise<{ count: number, bytes: number }> {
  const socket = await openUdp(host, port)
  try {
    for (let attempt = 0; attempt < CONTROL_ATTEMPTS; attempt++) {
      const answer = await new Promise<Buffer | undefined>((resolve) => {
        const timer = setTimeout(() => { socket.off('message', onMessage); resolve(undefined) }, CONTROL_TIMEOUT_MS)
        const onMessage = (msg: Buffer): void => { clearTimeout(timer); socket.off('message', onMessage); resolve(msg) }
        socket.on('message', onMessage)
        socket.send(Buffer.from(SINK_MAGIC + command))
      })
      if (answer !== undefined) return JSON.parse(answer.toString()) as { count: number, bytes: number }
    }
    throw new Error(`udp sink ${host}:${port}: no answer to ${command} after ${CONTROL_ATTEMPTS} attempts`)
  } finally {
    socket.close()
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export interface Offered {
  sent: number
  skipped: number
  seconds: number
}

/**
 * Sends `size`-byte datagrams on a connected socket at `ratePerSecond` for `maxMs`, paced in
 * 1 ms steps; datagrams the loop was too late for, or that found the socket queue full, are
 * skipped and counted.
 */
export async function offerDatagrams (socket: Socket, size: number, ratePerSecond: number, maxMs: number): Promise<Offered> {
  const payload = Buffer.alloc(size, 0x5a)
  const perMs = ratePerSecond / 1000
  let sent = 0
  let skipped = 0
  const start = performance.now()
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const elapsed = Math.min(performance.now() - start, maxMs)
      const due = Math.floor(elapsed * perMs)
      const behind = due - (sent + skipped) - Math.ceil(MAX_CATCH_UP_MS * perMs)
      if (behind > 0) skipped += behind
      while (sent + skipped < due) {
        if (socket.getSendQueueSize() > SEND_QUEUE_BYTES) skipped++
        else { socket.send(payload); sent++ }
      }
      if (elapsed >= maxMs) resolve()
      else setTimeout(tick, 1)
    }
    tick()
  })
  return { sent, skipped, seconds: (performance.now() - start) / 1000 }
}

/** Offers `ratePerSecond` datagrams of `size` bytes for `maxMs`, then reads the sink's count. */
export async function udpRate (host: string, port: number, limits: UdpRateLimits): Promise<UdpRateResult> {
  const deadline = performance.now() + limits.timeoutMs
  await control(host, port, 'reset')
  const socket = await openUdp(host, port)
  const { sent, skipped, seconds } = await offerDatagrams(socket, limits.size, limits.ratePerSecond, limits.maxMs)
  socket.close()
  let last = await control(host, port, 'report')
  for (let waited = 0; waited < SETTLE_MAX_MS && performance.now() < deadline; waited += SETTLE_STEP_MS) {
    await sleep(SETTLE_STEP_MS)
    const now = await control(host, port, 'report')
    const settled = now.count === last.count
    last = now
    if (settled) break
  }
  return { sent, skipped, received: last.count, receivedBytes: last.bytes, seconds }
}

export interface UdpRrLimits {
  size: number
  warmup: number
  maxCount: number
  maxMs: number
  timeoutMs: number
}

export interface UdpRrResult {
  count: number
  total: number
  lost: number
  seconds: number
  p50Us: number
  p99Us: number
}

/** Sequential request/response with small datagrams over one flow; each carries a sequence number. */
export async function udpRequestResponse (host: string, port: number, limits: UdpRrLimits): Promise<UdpRrResult> {
  const socket = await openUdp(host, port)
  const request = Buffer.alloc(Math.max(limits.size, 4), 0x61)
  const latencies = new Float64Array(limits.maxCount)
  let count = 0
  let done = 0
  let lost = 0
  let seq = 0
  let sentAt = 0n
  let measureStart = process.hrtime.bigint()
  let stopAt = Infinity
  try {
    return await new Promise<UdpRrResult>((resolve, reject) => {
      let lossTimer: NodeJS.Timeout | undefined
      const overall = setTimeout(() => { finish(new Error(`udp rr ${host}:${port}: not finished within ${limits.timeoutMs} ms (${done} round trips)`)) }, limits.timeoutMs)
      const finish = (err: Error | undefined): void => {
        clearTimeout(overall)
        clearTimeout(lossTimer)
        socket.removeAllListeners('message')
        if (err !== undefined) { reject(err); return }
        const { p50, p99 } = latencyPercentiles(latencies.subarray(0, count))
        resolve({ count, total: done, lost, seconds: Number(process.hrtime.bigint() - measureStart) / 1e9, p50Us: p50, p99Us: p99 })
      }
      const send = (): void => {
        seq = (seq + 1) >>> 0
        request.writeUInt32BE(seq, 0)
        sentAt = process.hrtime.bigint()
        socket.send(request)
        clearTimeout(lossTimer)
        lossTimer = setTimeout(() => { lost++; send() }, RR_LOSS_MS)
      }
      socket.on('message', (msg: Buffer) => {
        if (msg.length !== request.length || msg.readUInt32BE(0) !== seq) return // a late answer to a lost one
        const now = process.hrtime.bigint()
        done++
        if (done > limits.warmup) latencies[count++] = Number(now - sentAt) / 1e3
        else if (done === limits.warmup) {
          measureStart = now
          stopAt = performance.now() + limits.maxMs
        }
        if (count >= limits.maxCount || performance.now() >= stopAt) finish(undefined)
        else send()
      })
      if (limits.warmup === 0) stopAt = performance.now() + limits.maxMs
      send()
    })
  } finally {
    socket.close()
  }
}
