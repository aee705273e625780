// The relay's UDP flows of one control session: flow ids are unique per session (relay-opened,
// even), so one hub allocates them for all of the session's UDP proxies and routes the client's
// DGRAM frames (replies, FINs) to the flow they belong to.
import type { Logger } from 'pino'
import type { Session } from '../shared/mux/index.js'
import { nextFlowId } from '../shared/udp/index.js'
import { Flag } from '../shared/wire/index.js'

export interface HubFlow {
  /** A datagram from the local service, for the visitor. */
  reply (payload: Buffer): void
  /** The client closed the flow (DGRAM+FIN). */
  peerClosed (): void
}

export class UdpHub {
  readonly #flows = new Map<number, HubFlow>()
  readonly #log: Logger
  #lastId = 0
  /** DGRAM frames for flows this relay no longer has (they closed while the frame travelled). */
  unknownFlow = 0
  /** DGRAM+SYN from the client: clients never open flows in this version; dropped. */
  unexpectedOpen = 0

  constructor (session: Session, log: Logger) {
    this.#log = log
    session.on('datagram', (id, flags, payload) => { this.#onDatagram(id, flags, payload) })
  }

  get size (): number { return this.#flows.size }

  /** Allocates a free flow id and routes the client's frames for it to `flow`. */
  register (flow: HubFlow): number {
    const id = nextFlowId(this.#lastId, 'server', (n) => this.#flows.has(n))
    this.#lastId = id
    this.#flows.set(id, flow)
    return id
  }

  unregister (id: number): void {
    this.#flows.delete(id)
  }

  #onDatagram (id: number, flags: number, payload: Buffer): void {
    const flow = this.#flows.get(id)
    if ((flags & Flag.SYN) !== 0) {
      if (this.unexpectedOpen++ === 0) this.#log.debug({ flowId: id }, 'client opened a udp flow: not supported, dropped')
      return
    }
    if (flow === undefined) {
      if ((flags & Flag.FIN) === 0) this.unknownFlow++
      return
    }
    if ((flags & Flag.FIN) !== 0) flow.peerClosed()
    else flow.reply(payload)
  }
}
