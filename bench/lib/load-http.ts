// Keep-alive HTTP/1.1 load over raw sockets: `connections` connections, each with one GET in
// flight at a time (no pipelining). Raw sockets keep the generator's own CPU cost low
// (node:http's client costs several times more per request than the parsing done here).
import { connect, type Socket } from 'node:net'

export interface HttpLimits {
  connections: number
  /** Requests completed during this time are not counted. */
  warmupMs: number
  /** Measuring time after the warm-up. */
  maxMs: number
  /** All connections together stop sending after this many requests (warm-up included). */
  maxRequests: number
  /** Fail if the run has not finished this long after the start. */
  timeoutMs: number
  /** The Host header to send (default host:port). */
  hostHeader?: string
}

export interface HttpResult {
  /** Requests completed in the measured window. */
  count: number
  /** All requests completed (for CPU per request). */
  total: number
  seconds: number
}

const HEADER_END = Buffer.from('\r\n\r\n')
const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i

/** Length of the first complete response in `buf`, 0 if incomplete; throws on a malformed one. */
export function responseLength (buf: Buffer): number {
  const headerEnd = buf.indexOf(HEADER_END)
  if (headerEnd < 0) return 0
  const head = buf.toString('latin1', 0, headerEnd)
  if (!head.startsWith('HTTP/1.1 200')) throw new Error(`unexpected response: ${head.split('\r\n')[0] ?? ''}`)
  const m = CONTENT_LENGTH.exec(head)
  if (m?.[1] === undefined) throw new Error('response without Content-Length')
  const total = headerEnd + HEADER_END.length + Number(m[1])
  return buf.length >= total ? total : 0
}

export function httpLoad (host: string, port: number, limits: HttpLimits): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const request = Buffer.from(`GET / HTTP/1.1\r\nHost: ${limits.hostHeader ?? `${host}:${port}`}\r\nUser-Agent: tunnel-bench\r\n\r\n`, 'latin1')
    const sockets: Socket[] = []
    let connected = 0
    let open = 0
    let sent = 0
    let total = 0
    let warmTotal = 0
    let warmAt = 0n
    let endTotal = 0
    let endAt = 0n
    let stopping = false
    let settled = false
    const timers: NodeJS.Timeout[] = []
    const finish = (err: Error | undefined): void => {
      if (settled) return
      settled = true
      for (const t of timers) clearTimeout(t)
      for (const s of sockets) s.destroy()
      if (err !== undefined) reject(err)
      else resolve({ count: endTotal - warmTotal, total, seconds: Number(endAt - warmAt) / 1e9 })
    }
    const fail = (err: Error): void => { finish(new Error(`http ${host}:${port}: ${err.message}`)) }
    timers.push(setTimeout(() => { fail(new Error(`not finished within ${limits.timeoutMs} ms (${total} responses)`)) }, limits.timeoutMs))
    const ended = new WeakSet<Socket>()
    const sendOn = (s: Socket): void => {
      if (stopping || sent >= limits.maxRequests) {
        ended.add(s)
        s.end()
        return
      }
      sent++
      s.write(request)
    }
    const stop = (): void => {
      if (stopping) return
      stopping = true
      endTotal = total
      endAt = process.hrtime.bigint()
    }
    const start = (): void => {
      warmAt = process.hrtime.bigint()
      timers.push(setTimeout(() => {
        if (stopping) return
        warmTotal = total
        warmAt = process.hrtime.bigint()
        timers.push(setTimeout(stop, limits.maxMs))
      }, limits.warmupMs))
      for (const s of sockets) sendOn(s)
    }
    for (let i = 0; i < limits.connections; i++) {
      const s = connect({ host, port, noDelay: true })
      sockets.push(s)
      open++
      let pending: Buffer | undefined
      s.once('connect', () => { if (++connected === limits.connections) start() })
      s.on('data', (chunk: Buffer) => {
        pending = pending === undefined ? chunk : Buffer.concat([pending, chunk])
        let n: number
        try {
          n = responseLength(pending)
        } catch (err) {
          fail(err as Error)
          return
        }
        if (n === 0) return
        if (n !== pending.length) {
          fail(new Error(`${pending.length - n} unexpected bytes after a response`))
          return
        }
        pending = undefined
        total++
        if (sent >= limits.maxRequests && total >= sent) stop()
        sendOn(s)
      })
      s.on('error', fail)
      s.on('close', () => {
        if (!ended.has(s) && !settled) {
          fail(new Error(`a connection closed before the end (${total} responses)`))
          return
        }
        if (--open === 0) finish(undefined)
      })
    }
  })
}

export interface HttpCloseLimits {
  /** Connections at once: each sends one request with Connection: close, reads the answer to the end, and is replaced. */
  connections: number
  warmupMs: number
  maxMs: number
  /** Requests at most (warm-up included). */
  maxRequests: number
  timeoutMs: number
  hostHeader?: string
}

/**
 * New-connection HTTP load (as `wrk -H 'Connection: close'`): every request on a connection of
 * its own, `connections` of them at once; a request counts once its whole response has arrived
 * and the server has closed the connection.
 */
export function httpCloseLoad (host: string, port: number, limits: HttpCloseLimits): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const request = Buffer.from(`GET / HTTP/1.1\r\nHost: ${limits.hostHeader ?? `${host}:${port}`}\r\nUser-Agent: tunnel-bench\r\nConnection: close\r\n\r\n`, 'latin1')
    const open = new Set<Socket>()
    let sent = 0
    let total = 0
    let warmTotal = 0
    let warmAt = process.hrtime.bigint()
    let endTotal = 0
    let endAt = 0n
    let stopping = false
    let settled = false
    const timers: NodeJS.Timeout[] = []
    const finish = (err: Error | undefined): void => {
      if (settled) return
      settled = true
      for (const t of timers) clearTimeout(t)
      for (const s of open) s.destroy()
      if (err !== undefined) reject(new Error(`httpclose ${host}:${port}: ${err.message}`))
      else resolve({ count: endTotal - warmTotal, total, seconds: Number(endAt - warmAt) / 1e9 })
    }
    const stop = (): void => {
      if (stopping) return
      stopping = true
      endTotal = total
      endAt = process.hrtime.bigint()
      if (open.size === 0) finish(undefined)
    }
    timers.push(setTimeout(() => { finish(new Error(`not finished within ${limits.timeoutMs} ms (${total} responses)`)) }, limits.timeoutMs))
    timers.push(setTimeout(() => {
      warmTotal = total
      warmAt = process.hrtime.bigint()
      timers.push(setTimeout(stop, limits.maxMs))
    }, limits.warmupMs))
    const next = (): void => {
      if (settled) return
      if (stopping || sent >= limits.maxRequests) {
        stop()
        if (open.size === 0) finish(undefined)
        return
      }
      sent++
      const s = connect({ host, port, noDelay: true })
      open.add(s)
      const parts: Buffer[] = []
      s.once('connect', () => { s.write(request) })
      s.on('data', (c: Buffer) => { parts.push(c) })
      s.on('error', (err) => { finish(err) })
      s.on('close', (hadError) => {
        open.delete(s)
        if (settled || hadError) return
        const reply = Buffer.concat(parts)
        try {
          if (responseLength(reply) !== reply.length) throw new Error(`a response of ${reply.length} bytes is incomplete or has bytes after it`)
        } catch (err) {
          finish(err as Error)
          return
        }
        total++
        next()
      })
    }
    for (let i = 0; i < limits.connections; i++) next()
  })
}
