// One of frps.yml's httpPlugins: frp's server plugin protocol, JSON over HTTP. A call POSTs
// `{version, op, content}` to addr + path with `?version=0.1.0&op=Op` and an X-Frp-Reqid header,
// and wants a 200 with a JSON answer (plugin-answer.ts). Every call is bounded: it waits for a
// slot (call-limit.ts) and gets an answer within PLUGIN_TIMEOUT_MS from the moment it was made,
// and the answer may be at most MAX_PLUGIN_ANSWER_BYTES; anything else is a TUN_PLUGIN_UNAVAILABLE
// error, which the caller turns into a refusal (fail closed) or a skip, by operation. A rejection
// is TUN_PLUGIN_REJECTED with the plugin's reason.
import { randomBytes } from 'node:crypto'
import type { Agent as HttpAgent, IncomingMessage } from 'node:http'
import { pluginUrl, type HttpPluginConfig, type PluginOp } from '../../shared/config/index.js'
import { TunnelError } from '../../shared/errors.js'
import { nodeHttp, nodeHttps } from '../../shared/lazy-builtins.js'
import { CallLimit } from './call-limit.js'
import { parsePluginAnswer } from './plugin-answer.js'

/** frp's plugin API version, sent with every call. */
export const PLUGIN_API_VERSION = '0.1.0'
/** A call (waiting for a slot included) gets its answer within this, or fails. frp has no bound. */
export const PLUGIN_TIMEOUT_MS = 5_000
/** Calls to one plugin at once, and calls waiting for one of those slots. */
export const MAX_PLUGIN_CALLS_IN_FLIGHT = 32
export const MAX_PLUGIN_CALLS_WAITING = 256
/** Bytes of an answer at most (a proxy's content is a few KiB). */
export const MAX_PLUGIN_ANSWER_BYTES = 64 * 1024

/** What one call returned: the content to go on with (the plugin's, or the one sent). */
export interface PluginCallResult {
  changed: boolean
  content: Record<string, unknown>
}

export interface PluginCounters {
  calls: number
  rejected: number
  failed: number
  /** Refused at once: every slot and waiting place taken. */
  busy: number
}

export class HttpPlugin {
  readonly name: string
  readonly ops: ReadonlySet<PluginOp>
  readonly #url: URL
  readonly #agent: HttpAgent
  readonly #limit = new CallLimit(MAX_PLUGIN_CALLS_IN_FLIGHT, MAX_PLUGIN_CALLS_WAITING)
  readonly #timeoutMs: number
  readonly counters: PluginCounters = { calls: 0, rejected: 0, failed: 0, busy: 0 }

  constructor (config: HttpPluginConfig, timeoutMs = PLUGIN_TIMEOUT_MS) {
    const url = pluginUrl(config.addr, config.path)
    if ('error' in url) throw new TunnelError('TUN_CONFIG_INVALID', `httpPlugins ${config.name}: ${url.error}`)
    this.name = config.name
    this.ops = new Set(config.ops)
    this.#url = url
    this.#timeoutMs = timeoutMs
    const options = { keepAlive: true, maxSockets: MAX_PLUGIN_CALLS_IN_FLIGHT, maxFreeSockets: 8, timeout: timeoutMs }
    this.#agent = url.protocol === 'https:' ? new (nodeHttps().Agent)({ ...options, rejectUnauthorized: config.tlsVerify }) : new (nodeHttp().Agent)(options)
  }

  get url (): string { return this.#url.href }

  /** Asks the plugin about `op`; throws TUN_PLUGIN_REJECTED or TUN_PLUGIN_UNAVAILABLE. */
  async call (op: PluginOp, content: Record<string, unknown>): Promise<PluginCallResult> {
    const deadline = new AbortController()
    const timer = setTimeout(() => { deadline.abort() }, this.#timeoutMs)
    timer.unref()
    try {
      const release = await this.#limit.acquire(deadline.signal)
      if (release === false) {
        if (deadline.signal.aborted) throw this.#unavailable(op, `no free call slot within ${this.#timeoutMs} ms`)
        this.counters.busy++
        throw this.#unavailable(op, `${MAX_PLUGIN_CALLS_IN_FLIGHT} calls in flight and ${MAX_PLUGIN_CALLS_WAITING} waiting`)
      }
      try {
        this.counters.calls++
        const text = await this.#post(op, content, deadline.signal)
        const answer = parsePluginAnswer(text)
        if ('error' in answer) throw this.#unavailable(op, answer.error)
        if (answer.reject) {
          this.counters.rejected++
          throw new TunnelError('TUN_PLUGIN_REJECTED', `plugin ${this.name} rejected ${op}${answer.reason === '' ? '' : `: ${answer.reason.slice(0, 512)}`}`)
        }
        return answer.content === undefined ? { changed: false, content } : { changed: true, content: answer.content }
      } finally {
        release()
      }
    } catch (err) {
      if (err instanceof TunnelError) throw err
      throw this.#unavailable(op, deadline.signal.aborted ? `no answer within ${this.#timeoutMs} ms` : err instanceof Error ? err.message : String(err))
    } finally {
      clearTimeout(timer)
    }
  }

  #unavailable (op: PluginOp, why: string): TunnelError {
    this.counters.failed++
    return new TunnelError('TUN_PLUGIN_UNAVAILABLE', `plugin ${this.name} (${this.#url.origin}) failed ${op}: ${why}`)
  }

  async #post (op: PluginOp, content: Record<string, unknown>, signal: AbortSignal): Promise<string> {
    const body = Buffer.from(JSON.stringify({ version: PLUGIN_API_VERSION, op, content }), 'utf8')
    const url = new URL(this.#url.href)
    url.searchParams.set('version', PLUGIN_API_VERSION)
    url.searchParams.set('op', op)
    const request = url.protocol === 'https:' ? nodeHttps().request : nodeHttp().request
    return await new Promise<string>((resolve, reject) => {
      const req = request(url, {
        method: 'POST',
        agent: this.#agent,
        signal,
        headers: { 'Content-Type': 'application/json', 'Content-Length': String(body.length), 'X-Frp-Reqid': randomBytes(8).toString('hex') },
      })
      req.once('error', reject)
      req.once('response', (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          res.resume()
          reject(new Error(`HTTP status ${res.statusCode ?? 0}`))
          return
        }
        const chunks: Buffer[] = []
        let bytes = 0
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length
          if (bytes > MAX_PLUGIN_ANSWER_BYTES) {
            res.destroy()
            reject(new Error(`the answer is longer than ${MAX_PLUGIN_ANSWER_BYTES} bytes`))
            return
          }
          chunks.push(chunk)
        })
        res.once('error', reject)
        res.once('end', () => { resolve(Buffer.concat(chunks).toString('utf8')) })
      })
      req.end(body)
    })
  }

  /** Closes idle connections to the service. */
  close (): void { this.#agent.destroy() }
}
