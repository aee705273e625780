// The client side of a proxy with a plugin: where a TcpForwarder dials localIP:localPort, this
// hands each visitor stream to the proxy's plugin, and keeps the same books (streams active and
// total, bytes each way, connections the plugin could not make) plus the visitors the plugin
// refused. Refusals and failed connections are logged at most once per WARN_INTERVAL_MS per kind,
// with how many were not logged. close() (a reload removed or changed the proxy) resets every
// stream and closes the plugin.
import type { Logger } from 'pino'
import type { HttpProxyConfig, HttpsProxyConfig, PluginConfig, StcpProxyConfig, TcpProxyConfig } from '../../shared/config/index.js'
import { TokenBucket } from '../../shared/limit/index.js'
import type { MuxStream } from '../../shared/mux/index.js'
import { normalizeAddress } from '../../shared/net/index.js'
import { WARN_INTERVAL_MS } from '../../shared/timing.js'
import { ResetCode } from '../../shared/wire/index.js'
import type { StreamForwarder, StreamTraffic } from '../stream-forwarder.js'
import type { ClientPlugin, PluginConn, PluginEvents } from './plugin.js'
import { createPlugin } from './registry.js'

export type PluginProxy = (TcpProxyConfig | HttpProxyConfig | HttpsProxyConfig | StcpProxyConfig) & { plugin: PluginConfig }

/** One rate-limited warning line per kind (refused, dial). */
class Warner {
  #last = -Infinity
  #suppressed = 0
  constructor (readonly log: Logger) {}
  warn (fields: Record<string, unknown>, message: string): void {
    const now = performance.now()
    if (now - this.#last < WARN_INTERVAL_MS) { this.#suppressed++; return }
    this.#last = now
    this.log.warn({ ...fields, suppressed: this.#suppressed }, message)
    this.#suppressed = 0
  }
}

export class PluginForwarder implements StreamForwarder {
  readonly proxy: PluginProxy
  readonly #log: Logger
  readonly #plugin: ClientPlugin
  readonly #streams = new Set<MuxStream>()
  readonly #refusedWarn: Warner
  readonly #dialWarn: Warner
  #doneIn = 0
  #doneOut = 0
  #closed = false
  active = 0
  total = 0
  dialFailures = 0
  refused = 0

  constructor (proxy: PluginProxy, log: Logger) {
    this.proxy = proxy
    this.#log = log
    this.#refusedWarn = new Warner(log)
    this.#dialWarn = new Warner(log)
    const limiter = proxy.bandwidthLimit > 0 && proxy.bandwidthLimitMode === 'client' ? new TokenBucket(proxy.bandwidthLimit) : undefined
    const events: PluginEvents = {
      refused: (code, reason, visitor) => {
        this.refused++
        this.#refusedWarn.warn({ code, plugin: proxy.plugin.type, remote: visitor }, `${proxy.plugin.type} plugin refused a visitor: ${reason}`)
      },
      dialFailed: (target, err, visitor) => {
        this.dialFailures++
        this.#dialWarn.warn({ code: 'TUN_LOCAL_DIAL', plugin: proxy.plugin.type, local: target, remote: visitor }, `${proxy.plugin.type} plugin cannot reach ${target}: ${err.message}`)
      },
    }
    this.#plugin = createPlugin(proxy.plugin, {
      proxy: proxy.name,
      log,
      limiter,
      proxyProtocolVersion: proxy.proxyProtocolVersion,
      serverNames: proxy.type === 'tcp' || proxy.type === 'stcp' ? [] : proxy.customDomains,
      events,
    })
  }

  get closed (): boolean { return this.#closed }

  traffic (): StreamTraffic {
    let bytesIn = this.#doneIn
    let bytesOut = this.#doneOut
    for (const s of this.#streams) {
      bytesIn += s.bytesIn
      bytesOut += s.bytesOut
    }
    return { bytesIn, bytesOut, active: this.active, total: this.total, dialFailures: this.dialFailures, refused: this.refused }
  }

  handle (stream: MuxStream): void {
    if (this.#closed) { stream.reset(ResetCode.REFUSED); return }
    const open = stream.open
    const address = open === undefined ? '' : normalizeAddress(open.visitor.address)
    let finished = false
    const conn: PluginConn = {
      stream,
      visitorAddress: address,
      visitor: open === undefined ? '' : `${address}:${open.visitor.port}`,
      done: () => {
        if (finished) return
        finished = true
        if (!this.#streams.delete(stream)) return
        this.active--
        this.#doneIn += stream.bytesIn
        this.#doneOut += stream.bytesOut
        this.#log.debug({ streamId: stream.id, bytesIn: stream.bytesIn, bytesOut: stream.bytesOut }, 'plugin stream done')
      },
    }
    this.#streams.add(stream)
    this.active++
    this.total++
    try {
      this.#plugin.handle(conn)
    } catch (err) {
      // A plugin never throws; should one, this visitor alone is reset.
      this.#log.error({ err: err instanceof Error ? err.message : String(err), plugin: this.proxy.plugin.type }, 'plugin failed on a visitor')
      stream.reset(ResetCode.CANCEL)
      conn.done()
    }
  }

  close (): void {
    if (this.#closed) return
    this.#closed = true
    const streams = [...this.#streams]
    for (const stream of streams) stream.reset(ResetCode.CANCEL)
    this.#plugin.close()
    if (streams.length > 0) this.#log.info({ streams: streams.length }, 'proxy stopped: its streams were reset')
  }
}

/** Whether a proxy config has a plugin (and so gets a PluginForwarder). */
export function hasPlugin (proxy: TcpProxyConfig | HttpProxyConfig | HttpsProxyConfig | StcpProxyConfig): proxy is PluginProxy {
  return proxy.plugin !== undefined
}
