// `tunnel echo`: a TCP and a UDP service on one address (dual-stack '::' by default), each in
// the same mode (echo, sink or source), to put behind a tunnel client so a mapped port can be
// load-tested end to end without a real service. close() is idempotent.
import type { Socket as UdpSocket } from 'node:dgram'
import type { Server, Socket } from 'node:net'
import { listenError, listenTcp } from '../shared/net/index.js'
import type { Logger } from '../shared/log.js'
import { createTcpEcho } from './echo-tcp.js'
import { bindUdpEcho, serveUdpEcho } from './echo-udp.js'
import { emptyEchoCounters, type EchoCounters, type EchoMode } from './echo-stats.js'

export interface EchoServiceOptions {
  host: string
  /** null = no TCP service; 0 = any free port. */
  tcpPort: number | null
  udpPort: number | null
  mode: EchoMode
  delayMs: number
  sourceBytes: number
  udpBurst: number
}

export interface EchoPorts {
  tcpPort: number | null
  udpPort: number | null
}

export class EchoService {
  readonly options: EchoServiceOptions
  readonly counters: EchoCounters = emptyEchoCounters()
  readonly #log: Logger
  #tcp: Server | undefined
  #udp: UdpSocket | undefined
  readonly #sockets = new Set<Socket>()
  #closed: Promise<void> | undefined

  constructor (options: EchoServiceOptions, log: Logger) {
    this.options = options
    this.#log = log
  }

  /** Opens the listeners; on failure closes whatever was opened and throws TunnelError. */
  async start (): Promise<EchoPorts> {
    const o = this.options
    try {
      let tcpPort: number | null = null
      let udpPort: number | null = null
      if (o.tcpPort !== null) {
        this.#tcp = createTcpEcho({ mode: o.mode, delayMs: o.delayMs, sourceBytes: o.sourceBytes }, this.counters, this.#log)
        this.#tcp.on('connection', (socket: Socket) => {
          this.#sockets.add(socket)
          socket.on('close', () => { this.#sockets.delete(socket) })
        })
        try {
          tcpPort = (await listenTcp(this.#tcp, o.host, o.tcpPort)).port
        } catch (err) {
          throw listenError(err, o.host, o.tcpPort)
        }
      }
      if (o.udpPort !== null) {
        try {
          this.#udp = await bindUdpEcho(o.host, o.udpPort)
        } catch (err) {
          throw listenError(err, o.host, o.udpPort)
        }
        serveUdpEcho(this.#udp, { mode: o.mode, delayMs: o.delayMs, burst: o.udpBurst }, this.counters, this.#log)
        udpPort = this.#udp.address().port
      }
      return { tcpPort, udpPort }
    } catch (err) {
      await this.close()
      throw err
    }
  }

  close (): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      const udp = this.#udp
      if (udp !== undefined) {
        try { udp.close() } catch { /* never bound */ }
      }
      const tcp = this.#tcp
      if (tcp === undefined || !tcp.listening) {
        resolve()
        return
      }
      tcp.close(() => { resolve() })
      for (const socket of this.#sockets) socket.destroy()
    })
    return this.#closed
  }

  async [Symbol.asyncDispose] (): Promise<void> { await this.close() }
}
