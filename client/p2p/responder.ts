// The home side of an xtcp proxy: every visit that passed the secret gate is an introduction. The
// responder answers it (acceptPath: its candidates and key share), punches toward the visitor, and
// hands the streams that arrive over the direct path to the proxy's forwarder (the local service),
// exactly as streams from the relay. At most MAX_DIRECT_PATHS per proxy at once; past that a visit
// is answered with a refusal, and the visitor falls back to the relay.
import type { Logger } from 'pino'
import type { MuxStream } from '../../shared/mux/index.js'
import type { StunAddress } from '../../shared/stun/index.js'
import { ResetCode } from '../../shared/wire/index.js'
import type { TcpForwarder } from '../tcp-forwarder.js'
import { IntroChannel } from './channel.js'
import type { Intro } from './intro.js'
import { acceptPath, PathError, type DirectPath } from './path.js'

/** Direct paths one xtcp proxy holds at once (each is a udx socket and a mux session). */
export const MAX_DIRECT_PATHS = 64

export interface ResponderStats {
  active: number
  total: number
  failures: Record<string, number>
  /** Punch packets refused while punching toward visitors (forged: no secret; replayed). */
  punchRefusals: Record<string, number>
  /** This side's NAT and the last visitor's, as their probes saw them (null before an attempt got that far). */
  nat: Intro['nat']
  peerNat: Intro['nat']
}

export class XtcpResponder {
  readonly #forwarder: TcpForwarder
  readonly #homeKey: Buffer
  readonly #stun: () => Promise<StunAddress | undefined>
  readonly #log: Logger
  readonly #paths = new Set<DirectPath>()
  #pending = 0
  #total = 0
  readonly #failures: Record<string, number> = {}
  readonly #punchRefusals: Record<string, number> = {}
  #nat: Intro['nat'] = null
  #peerNat: Intro['nat'] = null
  #closed = false
  readonly #disableAssistedAddrs: boolean

  constructor (forwarder: TcpForwarder, homeKey: Buffer, stun: () => Promise<StunAddress | undefined>, log: Logger, disableAssistedAddrs = false) {
    this.#disableAssistedAddrs = disableAssistedAddrs
    this.#forwarder = forwarder
    this.#homeKey = homeKey
    this.#stun = stun
    this.#log = log
  }

  stats (): ResponderStats {
    return { active: this.#paths.size, total: this.#total, failures: { ...this.#failures }, punchRefusals: { ...this.#punchRefusals }, nat: this.#nat, peerNat: this.#peerNat }
  }

  /** An xtcp visit the gate admitted. */
  handle (stream: MuxStream): void {
    if (this.#closed) { stream.reset(ResetCode.REFUSED); return }
    stream.accept()
    const channel = new IntroChannel(stream)
    const full = this.#paths.size + this.#pending >= MAX_DIRECT_PATHS
    this.#pending++
    void this.#accept(channel, full ? `this proxy holds ${MAX_DIRECT_PATHS} direct paths already` : undefined).finally(() => { this.#pending-- })
  }

  async #accept (channel: IntroChannel, refuse: string | undefined): Promise<void> {
    let path: DirectPath
    try {
      const onPunchRefused = (reason: string): void => { this.#punchRefusals[reason] = (this.#punchRefusals[reason] ?? 0) + 1 }
      path = await acceptPath(channel, { stun: await this.#stun(), homeKey: this.#homeKey, log: this.#log.child({ p2p: true }), onPunchRefused, disableAssistedAddrs: this.#disableAssistedAddrs }, refuse)
    } catch (err) {
      if (err instanceof PathError) this.#noteNats(err.nat, err.peerNat)
      const reason = err instanceof PathError ? err.reason : 'error'
      this.#failures[reason] = (this.#failures[reason] ?? 0) + 1
      this.#log.info({ reason, code: 'TUN_DIRECT_PATH_FAILED' }, `an xtcp visitor got no direct path: ${(err as Error).message}`)
      return
    }
    this.#noteNats(path.nat, path.peerNat)
    if (this.#closed) { path.close(); return }
    this.#paths.add(path)
    this.#total++
    this.#log.info({ peer: `${path.peer.host}:${path.peer.port}` }, 'direct path to an xtcp visitor up')
    path.session.on('stream', (s) => { this.#forwarder.handle(s) })
    path.session.once('close', () => { this.#paths.delete(path) })
  }

  #noteNats (nat: { mapping: string, filtering: string } | null, peerNat: Intro['nat']): void {
    if (nat !== null) this.#nat = { mapping: nat.mapping, filtering: nat.filtering }
    if (peerNat !== null) this.#peerNat = peerNat
  }

  close (): void {
    this.#closed = true
    for (const p of [...this.#paths]) p.close()
    this.#paths.clear()
  }
}
