// Bulk TCP load: each stream writes 64 KiB chunks with back-pressure (write() false → wait for
// 'drain') until its byte cap or time cap, half-closes, and waits for the sink's byte count.
import { connect } from 'node:net'

export const BULK_CHUNK_BYTES = 64 * 1024
const CHUNK = Buffer.alloc(BULK_CHUNK_BYTES, 0x5a)

export interface BulkLimits {
  /** Bytes per stream at most. */
  maxBytes: number
  /** Stop writing after this many milliseconds. */
  maxMs: number
  /** Fail if the sink's count has not arrived this long after the start. */
  timeoutMs: number
}

export interface BulkResult {
  /** Bytes the sink(s) counted (equal to the bytes written). */
  bytes: number
  /** From the first connect to the last count reply. */
  seconds: number
}

interface StreamTiming {
  bytes: number
  startNs: bigint
  endNs: bigint
}

function oneStream (host: string, port: number, limits: BulkLimits): Promise<StreamTiming> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true })
    let sent = 0
    let reply = ''
    let startNs = 0n
    let settled = false
    const finish = (err: Error | undefined): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (err === undefined) {
        resolve({ bytes: sent, startNs, endNs: process.hrtime.bigint() })
        socket.end()
      } else {
        socket.destroy()
        reject(err)
      }
    }
    const timer = setTimeout(() => {
      finish(new Error(`bulk ${host}:${port}: no byte count within ${limits.timeoutMs} ms (wrote ${sent} B)`))
    }, limits.timeoutMs)
    let stopAt = 0
    const pump = (): void => {
      while (sent < limits.maxBytes && performance.now() < stopAt) {
        const n = Math.min(BULK_CHUNK_BYTES, limits.maxBytes - sent)
        sent += n
        if (!socket.write(n === BULK_CHUNK_BYTES ? CHUNK : CHUNK.subarray(0, n))) {
          socket.once('drain', pump)
          return
        }
      }
      socket.end()
    }
    socket.once('connect', () => {
      startNs = process.hrtime.bigint()
      stopAt = performance.now() + limits.maxMs
      pump()
    })
    socket.on('data', (chunk: Buffer) => { reply += chunk.toString('latin1') })
    socket.on('end', () => {
      const counted = Number.parseInt(reply, 10)
      if (counted === sent) finish(undefined)
      else finish(new Error(`bulk ${host}:${port}: sink counted ${reply.trim() || 'nothing'} of ${sent} B written`))
    })
    socket.on('error', (err) => { finish(new Error(`bulk ${host}:${port}: ${err.message}`)) })
    socket.on('close', () => { finish(new Error(`bulk ${host}:${port}: closed before the byte count (wrote ${sent} B)`)) })
  })
}

/** `streams` parallel bulk streams to one sink; aggregate bytes over the wall time of all. */
export async function bulk (host: string, port: number, streams: number, limits: BulkLimits): Promise<BulkResult> {
  const runs = await Promise.all(Array.from({ length: streams }, async () => await oneStream(host, port, limits)))
  let bytes = 0
  let start = runs[0]?.startNs ?? 0n
  let end = start
  for (const r of runs) {
    bytes += r.bytes
    if (r.startNs < start) start = r.startNs
    if (r.endNs > end) end = r.endNs
  }
  return { bytes, seconds: Number(end - start) / 1e9 }
}
