// A proxy type that exists only in tests, to show what adding a type takes: this one file (a
// schema and a kind) plus one line in the relay's list of kinds. A toy proxy holds a public TCP
// port; every visitor gets the registered greeting and the connection closes.
import { createServer, type Server, type Socket } from 'node:net'
import { z } from 'zod'
import { listenOrClose } from '../../shared/net/listen.js'
import { defineProxyKind, type ProxyContext, type ProxyEndpoint, type ProxyMetrics, type RelayProxy, type RelayProxyPhase, type StopMode } from '../../server/index.js'

const toySpecSchema = z.object({ name: z.string().min(1).max(200), type: z.literal('toy'), remotePort: z.number().int().min(0).max(65535), greeting: z.string().max(64) })
type ToySpec = z.output<typeof toySpecSchema>

class ToyProxy implements RelayProxy {
  readonly type = 'toy'
  readonly name: string
  readonly #spec: ToySpec
  readonly #ctx: ProxyContext
  readonly #visitors = new Set<Socket>()
  #server: Server | undefined
  #port = 0
  #phase: RelayProxyPhase = 'starting'
  #served = 0
  #bytesOut = 0

  constructor (spec: ToySpec, ctx: ProxyContext) {
    this.name = spec.name
    this.#spec = spec
    this.#ctx = ctx
  }

  async start (): Promise<void> {
    this.#port = await this.#ctx.ports.bind(this.#spec.remotePort, this.#ctx.owner, async (host, port) => {
      const server = createServer((socket) => { this.#greet(socket) })
      const bound = await listenOrClose(server, host, port)
      this.#server = server
      return bound.port
    })
    this.#phase = 'listening'
  }

  #greet (socket: Socket): void {
    socket.on('error', () => {})
    this.#visitors.add(socket)
    socket.once('close', () => { this.#visitors.delete(socket) })
    this.#served++
    this.#bytesOut += Buffer.byteLength(this.#spec.greeting)
    socket.end(this.#spec.greeting)
  }

  stop (mode: StopMode): void {
    if (this.#phase === 'closed') return
    this.#phase = 'closed'
    this.#server?.close()
    if (mode !== 'drain') for (const s of this.#visitors) s.destroy()
  }

  status (): RelayProxyPhase { return this.#phase }
  describe (): ProxyEndpoint { return { remotePort: this.#port } }
  metrics (): ProxyMetrics {
    return { streams: { active: this.#visitors.size, total: this.#served }, flows: null, bytesIn: 0, bytesOut: this.#bytesOut, refused: 0, dropped: 0, udpDrops: null }
  }
}

export const toyProxyKind = defineProxyKind({
  type: 'toy',
  capability: 'proxy.toy',
  schema: toySpecSchema,
  holdsPort: true,
  create: (spec, ctx) => new ToyProxy(spec, ctx),
})
