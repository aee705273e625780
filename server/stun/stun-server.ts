// The relay's STUN server (RFC 8489 Binding, with RFC 5780's OTHER-ADDRESS, RESPONSE-ORIGIN and
// CHANGE-REQUEST(change port)): xtcp clients ask it for their public address and learn how their
// NAT maps and filters (shared/stun/probe.ts). Two UDP sockets: the primary on stunBindPort
// (default: bindPort's number) and the other on stunAltPort (default: a free port). A request to
// either is answered from the one it reached, or from the other when it asks for a change of
// port; a change of address cannot be done with one address and is answered with error 420 (so a
// client knows, rather than waits). RESPONSE-PORT sends the answer to another port of the asker's
// own address (never another address: no reflection at third parties), which is how a client
// tests how long its NAT keeps an idle UDP mapping (shared/stun/lifetime.ts). Anything else is
// dropped unanswered. Answers are bounded by a
// token bucket (the port is public, and an answer is a little bigger than a request).
import type { Socket } from 'node:dgram'
import type { Logger } from 'pino'
import { bindUdp, normalizeAddress } from '../../shared/net/index.js'
import { CHANGE_IP, CHANGE_PORT, decodeStun, encodeStun, STUN_METHOD_BINDING, StunClass, type StunAddress } from '../../shared/stun/index.js'

/** Answers a second at most, relay-wide (a Binding answer is under 100 bytes: under 100 KB/s). */
export const MAX_STUN_ANSWERS_PER_S = 1_000
/** The SOFTWARE attribute of answers. */
const SOFTWARE = 'tunnel relay'

export interface StunServerStats {
  requests: number
  answers: number
  /** Not a Binding request, or malformed. */
  malformed: number
  /** Over MAX_STUN_ANSWERS_PER_S. */
  limited: number
}

export class StunServer {
  readonly #log: Logger
  readonly #maxPerSecond: number
  #primary: Socket | undefined
  #other: Socket | undefined
  #windowStart = 0
  #inWindow = 0
  readonly stats: StunServerStats = { requests: 0, answers: 0, malformed: 0, limited: 0 }

  constructor (log: Logger, maxPerSecond = MAX_STUN_ANSWERS_PER_S) {
    this.#log = log
    this.#maxPerSecond = maxPerSecond
  }

  /** Binds both ports; returns them. Throws TUN_PORT_IN_USE / TUN_LISTEN (the relay logs and goes on without STUN). */
  async start (host: string, port: number, altPort: number): Promise<{ port: number, altPort: number }> {
    const primary = await bindUdp(host, port)
    primary.on('error', () => {})
    let other: Socket
    try {
      other = await bindUdp(host, altPort)
    } catch (err) {
      primary.close()
      throw err
    }
    other.on('error', () => {})
    this.#primary = primary
    this.#other = other
    primary.on('message', (msg, rinfo) => { this.#onMessage(primary, other, msg, rinfo) })
    other.on('message', (msg, rinfo) => { this.#onMessage(other, primary, msg, rinfo) })
    return { port: primary.address().port, altPort: other.address().port }
  }

  close (): void {
    this.#primary?.close()
    this.#other?.close()
    this.#primary = undefined
    this.#other = undefined
  }

  #admit (): boolean {
    const now = performance.now()
    if (now - this.#windowStart >= 1000) { this.#windowStart = now; this.#inWindow = 0 }
    if (this.#inWindow >= this.#maxPerSecond) return false
    this.#inWindow++
    return true
  }

  #onMessage (here: Socket, there: Socket, msg: Buffer, rinfo: { address: string, port: number }): void {
    const m = decodeStun(msg)
    if (m === undefined || m.cls !== StunClass.REQUEST || m.method !== STUN_METHOD_BINDING) { this.stats.malformed++; return }
    this.stats.requests++
    if (!this.#admit()) { this.stats.limited++; return }
    const change = m.changeRequest ?? 0
    const mapped: StunAddress = { host: normalizeAddress(rinfo.address), port: rinfo.port }
    const out = (change & CHANGE_PORT) !== 0 ? there : here
    const wildcard = (s: Socket): StunAddress => ({ host: s.address().family === 'IPv6' ? '::' : '0.0.0.0', port: s.address().port })
    const answer = (change & CHANGE_IP) !== 0
      ? encodeStun({ cls: StunClass.ERROR, method: STUN_METHOD_BINDING, transactionId: m.transactionId, errorCode: 420, software: SOFTWARE })
      : encodeStun({ cls: StunClass.SUCCESS, method: STUN_METHOD_BINDING, transactionId: m.transactionId, mapped, responseOrigin: wildcard(out), otherAddress: wildcard(there), software: SOFTWARE })
    this.stats.answers++
    const sender = (change & CHANGE_IP) !== 0 ? here : out
    // RESPONSE-PORT (RFC 5780 §7.5): the asker's own address, another of its ports (port 0 is no port).
    const toPort = m.responsePort !== undefined && m.responsePort !== 0 ? m.responsePort : rinfo.port
    sender.send(answer, toPort, rinfo.address, (err) => {
      if (err !== null) this.#log.debug({ err: err.message }, 'STUN answer not sent')
    })
  }
}
