// http: GET requests on `concurrency` connections, one in flight on each (no pipelining), with
// keep-alive (default) or a new connection per request (--no-keep-alive). Closed loop, or open
// loop with --rate. A 4xx/5xx answer counts as a `status` error; the connection stays usable.
import type { Socket } from 'node:net'
import { ABANDONED, dial, timeoutFailure, type Abandoned } from './dial.js'
import { OpFailure } from './error-kinds.js'
import { HttpParseError, HttpResponseReader, type HttpResponseInfo } from './http-response.js'
import type { BenchPlan } from './plan.js'
import { waitUntilDue, type RunState } from './run-state.js'

type Result = HttpResponseInfo | OpFailure | Abandoned

class HttpConnection {
  readonly socket: Socket
  readonly #reader = new HttpResponseReader()
  #resolve: ((r: Result) => void) | undefined
  #broken: OpFailure | undefined
  bytesIn = 0

  constructor (socket: Socket) {
    this.socket = socket
    socket.on('data', (chunk: Buffer) => { this.#onData(chunk) })
    socket.on('error', (err) => { this.#breakWith(OpFailure.from(err)) })
    socket.on('end', () => { this.#onEnd() })
    socket.on('close', () => { this.#breakWith(new OpFailure('closed', 'the connection closed before the response')) })
  }

  request (bytes: Buffer, timeoutMs: number, signal: AbortSignal): Promise<Result> {
    if (this.#broken !== undefined) return Promise.resolve(this.#broken)
    return new Promise((resolve) => {
      const finish = (r: Result): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', onAbort)
        this.#resolve = undefined
        resolve(r)
      }
      const onAbort = (): void => { finish(ABANDONED) }
      const timer = setTimeout(() => {
        this.#broken = timeoutFailure('response', timeoutMs)
        finish(this.#broken)
      }, timeoutMs)
      this.#resolve = finish
      signal.addEventListener('abort', onAbort, { once: true })
      this.socket.write(bytes)
    })
  }

  destroy (): void { this.socket.destroy() }

  #onData (chunk: Buffer): void {
    this.bytesIn += chunk.length
    let done: HttpResponseInfo[]
    try {
      done = this.#reader.push(chunk)
    } catch (err) {
      this.#breakWith(new OpFailure('protocol', (err as Error).message))
      return
    }
    for (const info of done) {
      if (this.#resolve === undefined) {
        this.#breakWith(new OpFailure('protocol', 'a response arrived with no request outstanding'))
        return
      }
      this.#resolve(info)
      if (!info.keepAlive) this.#broken ??= new OpFailure('closed', 'the server closed the connection (Connection: close)')
    }
  }

  #onEnd (): void {
    try {
      const info = this.#reader.end()
      if (info !== undefined && this.#resolve !== undefined) {
        this.#broken = new OpFailure('closed', 'the server closed the connection')
        this.#resolve(info)
        return
      }
    } catch (err) {
      if (!(err instanceof HttpParseError)) throw err
    }
    this.#breakWith(new OpFailure('closed', 'the server closed the connection before the response'))
  }

  #breakWith (failure: OpFailure): void {
    this.#broken ??= failure
    this.#resolve?.(this.#broken)
  }

  /** Whether the next request can go on this connection. */
  get reusable (): boolean { return this.#broken === undefined }
}

export function httpRequestBytes (plan: BenchPlan): Buffer {
  const connection = plan.keepAlive ? 'keep-alive' : 'close'
  return Buffer.from(`GET ${plan.path} HTTP/1.1\r\nHost: ${plan.hostHeader}\r\nUser-Agent: tunnel-bench\r\nAccept: */*\r\nConnection: ${connection}\r\n\r\n`, 'latin1')
}

async function httpWorker (plan: BenchPlan, state: RunState, request: Buffer): Promise<void> {
  let conn: HttpConnection | undefined
  try {
    for (let claim = state.claim(); claim !== undefined; claim = state.claim()) {
      let start = await waitUntilDue(state, claim)
      if (state.signal.aborted) return
      if (conn === undefined) {
        const socket = await dial(plan.target, plan.timeoutMs, state)
        if (socket === ABANDONED) return
        if (!('write' in socket)) {
          state.fail(socket)
          continue
        }
        conn = new HttpConnection(socket)
        // With keep-alive the connect is set-up, not part of a request (closed loop); with a new
        // connection per request it is part of every request, as a visitor would see it.
        if (plan.rate === null && plan.keepAlive) start = performance.now()
      }
      const before = conn.bytesIn
      const r = await conn.request(request, plan.timeoutMs, state.signal)
      if (r === ABANDONED) return
      state.bytesSent += request.length
      state.bytesReceived += conn.bytesIn - before
      if (r instanceof OpFailure) state.fail(r)
      else if (r.status >= 400) state.fail(new OpFailure('status', `HTTP ${r.status}`))
      else state.succeed((performance.now() - start) * 1000)
      if (!conn.reusable || !plan.keepAlive) {
        conn.destroy()
        conn = undefined
      }
    }
  } finally {
    conn?.destroy()
  }
}

export async function runHttp (plan: BenchPlan, state: RunState): Promise<void> {
  const request = httpRequestBytes(plan)
  await Promise.all(Array.from({ length: plan.concurrency }, async () => { await httpWorker(plan, state, request) }))
}
