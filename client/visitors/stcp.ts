// The stcp visitor: a TCP listener on bindAddr:bindPort; every local connection becomes a visit
// (a stream on the control connection, proved with the secret) bridged byte for byte with
// back-pressure both ways (shared/mux/bridge.ts), half-close and resets included. A refused visit
// resets the local connection (the application sees a reset, not an empty answer) and is counted
// and explained (refusal-log.ts). bindPort < 0: no listener (frp's visitors reached only by other
// visitors; nothing hands connections over in this version).
import { createServer, type Server, type Socket } from 'node:net'
import type { Logger } from 'pino'
import type { VisitorConfig } from '../../shared/config/index.js'
import { bridge, type MuxStream } from '../../shared/mux/index.js'
import { formatHostPort, listenOrClose, normalizeAddress } from '../../shared/net/index.js'
import { visitKeysFor, type VisitKeys } from '../../shared/visit/index.js'
import { TunnelError } from '../../shared/errors.js'
import { VisitKind } from '../../shared/wire/index.js'
import { RefusalLog, refusalOf } from './refusal-log.js'
import { newVisitorRefusals, targetName, type Visitor, type VisitorContext, type VisitorStats } from './visitor.js'

export class StcpVisitor implements Visitor {
  readonly config: VisitorConfig
  readonly target: string
  readonly #ctx: VisitorContext
  readonly #keys: VisitKeys
  readonly #log: Logger
  readonly #refusalLog: RefusalLog
  readonly #refusals = newVisitorRefusals()
  readonly #open = new Map<Socket, MuxStream>()
  #server: Server | undefined
  #local: string | null = null
  #closed = false
  #total = 0
  #doneIn = 0
  #doneOut = 0

  constructor (config: VisitorConfig, ctx: VisitorContext) {
    this.config = config
    this.target = targetName(ctx.user, config)
    this.#ctx = ctx
    this.#keys = visitKeysFor(config.secretKey.reveal(), this.target)
    this.#log = ctx.log
    this.#refusalLog = new RefusalLog(ctx.log, this.target, ctx.user)
  }

  get local (): string | null { return this.#local }

  async start (): Promise<void> {
    const { bindAddr, bindPort } = this.config
    if (bindPort < 0) return
    const server = createServer({ allowHalfOpen: true, noDelay: true })
    const addr = await listenOrClose(server, bindAddr, bindPort)
    if (this.#closed) { server.close(); return }
    this.#server = server
    this.#local = formatHostPort(normalizeAddress(addr.address), addr.port)
    server.on('connection', (socket) => { this.#onConnection(socket) })
  }

  close (): void {
    if (this.#closed) return
    this.#closed = true
    this.#server?.close()
    for (const [socket, stream] of [...this.#open]) {
      stream.reset()
      socket.resetAndDestroy()
    }
    this.#open.clear()
  }

  stats (): VisitorStats {
    let bytesIn = this.#doneIn
    let bytesOut = this.#doneOut
    for (const stream of this.#open.values()) {
      bytesIn += stream.bytesOut
      bytesOut += stream.bytesIn
    }
    return { streams: { active: this.#open.size, total: this.#total }, flows: null, bytesIn, bytesOut, refusals: { ...this.#refusals }, udpDrops: null }
  }

  #onConnection (socket: Socket): void {
    socket.on('error', () => { /* reported through 'close' */ })
    if (this.#closed) { socket.destroy(); return }
    socket.setNoDelay(true)
    const stream = this.#ctx.opener.open({
      kind: VisitKind.STCP,
      keys: this.#keys,
      target: this.target,
      visitor: { address: normalizeAddress(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 },
      listener: { address: normalizeAddress(socket.localAddress ?? ''), port: socket.localPort ?? 0 },
    })
    if (stream instanceof TunnelError) {
      this.#refused(stream)
      socket.resetAndDestroy()
      return
    }
    this.#open.set(socket, stream)
    this.#total++
    this.#log.debug({ streamId: stream.id, target: this.target }, 'visit opened')
    bridge(stream, socket, (r) => {
      this.#open.delete(socket)
      this.#doneIn += stream.bytesOut
      this.#doneOut += stream.bytesIn
      if (r.error !== undefined && !this.#closed) this.#refused(r.error)
      this.#log.debug({ streamId: stream.id, bytesIn: r.bytesFromSocket, bytesOut: r.bytesToSocket, code: r.error?.code }, 'visit closed')
    })
  }

  #refused (err: TunnelError): void {
    const reason = refusalOf(err)
    this.#refusals[reason]++
    this.#refusalLog.note(reason, err.code, this.#refusals)
  }
}
