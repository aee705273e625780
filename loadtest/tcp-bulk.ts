// tcp bulk: 1..N streams moving bytes as fast as the path allows, until the duration or the
// per-stream byte cap. up: write 64 KiB chunks with back-pressure, half-close, and take the byte
// count a sink replies (`tunnel echo --mode sink` replies "<bytes>\n" after the FIN; a count that
// differs from what was written is a protocol error). down: read from a source.
import type { Socket } from 'node:net'
import { ABANDONED, dial } from './dial.js'
import { OpFailure } from './error-kinds.js'
import { BULK_CHUNK_BYTES } from './limits.js'
import type { BenchPlan } from './plan.js'
import type { RunState } from './run-state.js'

export interface StreamResult {
  bytes: number
  seconds: number
  /** up: the peer replied a byte count equal to the bytes written. */
  verified: boolean
}

export interface BulkResult {
  streams: StreamResult[]
  /** Sum of stream bytes over (first connect → last stream done). */
  bytesPerSecond: number
}

const CHUNK = Buffer.alloc(BULK_CHUNK_BYTES, 0x5a)

function upload (socket: Socket, plan: BenchPlan, state: RunState): Promise<StreamResult | OpFailure> {
  return new Promise((resolve) => {
    const startedAt = performance.now()
    let sent = 0
    let wroteAllAt = 0
    let reply = ''
    let timer: NodeJS.Timeout | undefined
    const finish = (r: StreamResult | OpFailure): void => {
      clearTimeout(timer)
      clearTimeout(deadline)
      state.signal.removeEventListener('abort', onAbort)
      socket.destroy()
      resolve(r)
    }
    const unverified = (): StreamResult => ({ bytes: sent, seconds: ((wroteAllAt || performance.now()) - startedAt) / 1000, verified: false })
    const onAbort = (): void => { finish(unverified()) }
    const stopWriting = (): void => {
      if (wroteAllAt !== 0) return
      socket.off('drain', pump)
      wroteAllAt = performance.now()
      socket.end()
      // A sink that replies no count: the stream ends here (after at most one timeout).
      timer = setTimeout(() => { finish(unverified()) }, plan.timeoutMs)
    }
    // A stalled receiver never drains: the deadline ends the writing all the same.
    const deadline = setTimeout(stopWriting, Math.max(0, state.deadline - performance.now()))
    const pump = (): void => {
      while (sent < plan.bytesPerStream && !state.stopped && performance.now() < state.deadline) {
        const n = Math.min(BULK_CHUNK_BYTES, plan.bytesPerStream - sent)
        sent += n
        state.bytesSent += n
        if (!socket.write(n === BULK_CHUNK_BYTES ? CHUNK : CHUNK.subarray(0, n))) {
          socket.once('drain', pump)
          return
        }
      }
      stopWriting()
    }
    socket.on('data', (chunk: Buffer) => {
      state.bytesReceived += chunk.length
      if (reply.length < 32) reply += chunk.toString('latin1')
    })
    socket.on('end', () => {
      if (wroteAllAt === 0) {
        finish(new OpFailure('closed', `the service closed the stream after ${sent} B`))
        return
      }
      const text = reply.trim()
      if (!/^\d+$/.test(text)) {
        finish(unverified())
        return
      }
      const counted = Number(text)
      if (counted !== sent) finish(new OpFailure('protocol', `the sink counted ${counted} B of ${sent} B written`))
      else finish({ bytes: sent, seconds: (performance.now() - startedAt) / 1000, verified: true })
    })
    socket.on('error', (err) => { finish(OpFailure.from(err)) })
    state.signal.addEventListener('abort', onAbort, { once: true })
    pump()
  })
}

function download (socket: Socket, plan: BenchPlan, state: RunState): Promise<StreamResult | OpFailure> {
  return new Promise((resolve) => {
    const startedAt = performance.now()
    let received = 0
    const finish = (r: StreamResult | OpFailure): void => {
      clearInterval(ticker)
      state.signal.removeEventListener('abort', done)
      socket.destroy()
      resolve(r)
    }
    const done = (): void => { finish({ bytes: received, seconds: (performance.now() - startedAt) / 1000, verified: false }) }
    // Checked per chunk and by a ticker, so a stalled source still ends at the deadline.
    const ticker = setInterval(() => { if (state.stopped || performance.now() >= state.deadline) done() }, 50)
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length
      state.bytesReceived += chunk.length
      if (received >= plan.bytesPerStream || performance.now() >= state.deadline) done()
    })
    socket.on('end', done)
    socket.on('error', (err) => { finish(OpFailure.from(err)) })
    state.signal.addEventListener('abort', done, { once: true })
  })
}

export async function runTcpBulk (plan: BenchPlan, state: RunState): Promise<BulkResult> {
  const results: StreamResult[] = []
  let first = Infinity
  let last = 0
  const stream = async (): Promise<void> => {
    const claim = state.claim()
    if (claim === undefined) return
    const socket = await dial(plan.target, plan.timeoutMs, state)
    if (socket === ABANDONED) return
    if (!('write' in socket)) {
      state.fail(socket)
      return
    }
    const began = performance.now()
    const r = plan.direction === 'up' ? await upload(socket, plan, state) : await download(socket, plan, state)
    if (r instanceof OpFailure) {
      state.fail(r)
      return
    }
    first = Math.min(first, began)
    last = Math.max(last, began + r.seconds * 1000)
    results.push(r)
    state.succeed(undefined)
  }
  await Promise.all(Array.from({ length: plan.streams }, stream))
  const bytes = results.reduce((n, r) => n + r.bytes, 0)
  const seconds = last > first ? (last - first) / 1000 : 0
  return { streams: results, bytesPerSecond: seconds > 0 ? bytes / seconds : 0 }
}
