// Request/response latency: one connection, sequential small requests to an echo service; each
// round trip ends when the whole reply has arrived.
import { connect } from 'node:net'
import { latencyPercentiles } from './stats.js'

export interface RrLimits {
  /** Request (and reply) size in bytes. */
  size: number
  /** Round trips not measured before the measured ones. */
  warmup: number
  /** Measured round trips at most. */
  maxCount: number
  /** Stop after this many milliseconds of measuring. */
  maxMs: number
  /** Fail if the run has not finished this long after the start. */
  timeoutMs: number
}

export interface RrResult {
  /** Measured round trips. */
  count: number
  /** All round trips, warm-up included (for CPU per round trip). */
  total: number
  seconds: number
  p50Us: number
  p99Us: number
}

export function requestResponse (host: string, port: number, limits: RrLimits): Promise<RrResult> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true })
    const request = Buffer.alloc(limits.size, 0x61)
    const latencies = new Float64Array(limits.maxCount)
    let done = 0
    let count = 0
    let received = 0
    let sentAt = 0n
    let measureStart = 0n
    let stopAt = Infinity
    let settled = false
    const finish = (err: Error | undefined): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      if (err !== undefined) {
        reject(err)
        return
      }
      const seconds = Number(process.hrtime.bigint() - measureStart) / 1e9
      const { p50, p99 } = latencyPercentiles(latencies.subarray(0, count))
      resolve({ count, total: done, seconds, p50Us: p50, p99Us: p99 })
    }
    const timer = setTimeout(() => {
      finish(new Error(`rr ${host}:${port}: not finished within ${limits.timeoutMs} ms (${done} round trips)`))
    }, limits.timeoutMs)
    const send = (): void => {
      received = 0
      sentAt = process.hrtime.bigint()
      socket.write(request)
    }
    socket.once('connect', () => {
      if (limits.warmup === 0) {
        measureStart = process.hrtime.bigint()
        stopAt = performance.now() + limits.maxMs
      }
      send()
    })
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length
      if (received < limits.size) return
      if (received > limits.size) {
        finish(new Error(`rr ${host}:${port}: ${received} B reply to a ${limits.size} B request`))
        return
      }
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
    socket.on('error', (err) => { finish(new Error(`rr ${host}:${port}: ${err.message}`)) })
    socket.on('close', () => { finish(new Error(`rr ${host}:${port}: closed after ${done} round trips`)) })
  })
}
