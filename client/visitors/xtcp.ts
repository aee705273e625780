// The xtcp visitor (frp's peer to peer): a TCP listener like stcp's, whose connections go
// directly to the proxy's client over a punched UDP path (client/p2p) when one is up, and to the
// stcp visitor named by fallbackTo (through the relay) when none comes up within
// fallbackTimeoutMs, when punching failed, or when the path died: the application sees a working
// connection either way; the log and the status say which path it took and why.
//
// One direct path per visitor carries every connection as a stream of its mux session. It is made
// on the first connection (or at start with keepTunnelOpen) and, without keepTunnelOpen, closed
// after PATH_IDLE_MS with no connection; with keepTunnelOpen its heartbeats keep the NATs' mappings
// warm and a path that dies is punched again. Attempts are bounded by maxRetriesAnHour and spaced
// by minRetryInterval after a failure (frp's keys); meanwhile connections fall back at once.
import { createServer, type Server, type Socket } from 'node:net'
import type { Logger } from 'pino'
import type { P2pStatus } from '../../shared/admin/index.js'
import type { VisitorConfig } from '../../shared/config/index.js'
import { TunnelError } from '../../shared/errors.js'
import { bridge, type MuxStream } from '../../shared/mux/index.js'
import { formatHostPort, listenOrClose, normalizeAddress } from '../../shared/net/index.js'
import { pairAdvice, type FilteringBehaviour, type MappingBehaviour } from '../../shared/stun/index.js'
import { visitKeysFor, type VisitKeys } from '../../shared/visit/index.js'
import { VisitKind } from '../../shared/wire/index.js'
import { connectPath, IntroChannel, PathError, type DirectPath } from '../p2p/index.js'
import { RefusalLog, refusalOf } from './refusal-log.js'
import { newVisitorRefusals, targetName, type Visitor, type VisitorContext, type VisitorStats } from './visitor.js'

/** Without keepTunnelOpen, a direct path with no connection for this long is closed. */
export const PATH_IDLE_MS = 30_000
/** How often the idle check (and, with keepTunnelOpen, the check that a path is up or coming) runs. */
const IDLE_CHECK_MS = 1_000
/** With keepTunnelOpen, the wait before punching again after the path died. */
export const REPUNCH_DELAY_MS = 1_000
const HOUR_MS = 3_600_000

type FailureReason = 'introTimeout' | 'refused' | 'badIntro' | 'punchTimeout' | 'closed' | 'budget' | 'offline'

export class XtcpVisitor implements Visitor {
  readonly config: VisitorConfig
  readonly target: string
  readonly #ctx: VisitorContext
  readonly #keys: VisitKeys
  readonly #log: Logger
  readonly #refusalLog: RefusalLog
  readonly #refusals = newVisitorRefusals()
  readonly #open = new Map<Socket, MuxStream>()
  readonly #now: () => number
  #server: Server | undefined
  #local: string | null = null
  #closed = false
  #path: DirectPath | undefined
  #connecting: Promise<DirectPath | undefined> | undefined
  #attemptTimes: number[] = []
  #lastFailureAt = -Infinity
  #lastReason: FailureReason | null = null
  #idleSince = 0
  #idleTimer: NodeJS.Timeout | undefined
  #repunch: NodeJS.Timeout | undefined
  #total = 0
  #doneIn = 0
  #doneOut = 0
  readonly #p2p = { attempts: 0, successes: 0, failures: {} as Record<string, number>, lastConnectMs: null as number | null, direct: 0, fallback: 0, refused: 0, punchRefusals: {} as Record<string, number> }
  #nat: P2pStatus['nat'] = null
  #peerNat: P2pStatus['peerNat'] = null

  constructor (config: VisitorConfig, ctx: VisitorContext, now: () => number = () => performance.now()) {
    this.config = config
    this.target = targetName(ctx.user, config)
    this.#ctx = ctx
    this.#keys = visitKeysFor(config.secretKey.reveal(), this.target)
    this.#log = ctx.log
    this.#refusalLog = new RefusalLog(ctx.log, this.target, ctx.user)
    this.#now = now
  }

  get local (): string | null { return this.#local }

  /** The direct path's session while it is up (tests and status). */
  get path (): DirectPath | undefined { return this.#path }

  async start (): Promise<void> {
    const { bindAddr, bindPort } = this.config
    const server = createServer({ allowHalfOpen: true, noDelay: true })
    const addr = await listenOrClose(server, bindAddr, bindPort)
    if (this.#closed) { server.close(); return }
    this.#server = server
    this.#local = formatHostPort(normalizeAddress(addr.address), addr.port)
    server.on('connection', (socket) => { this.#onConnection(socket) })
    this.#idleTimer = setInterval(() => { this.#checkIdle() }, IDLE_CHECK_MS)
    this.#idleTimer.unref()
    if (this.config.keepTunnelOpen) this.#warm()
  }

  close (): void {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#idleTimer)
    clearTimeout(this.#repunch)
    this.#server?.close()
    for (const [socket, stream] of [...this.#open]) {
      stream.reset()
      socket.resetAndDestroy()
    }
    this.#open.clear()
    this.#path?.close()
    this.#path = undefined
  }

  stats (): VisitorStats {
    let bytesIn = this.#doneIn
    let bytesOut = this.#doneOut
    for (const stream of this.#open.values()) {
      bytesIn += stream.bytesOut
      bytesOut += stream.bytesIn
    }
    return { streams: { active: this.#open.size, total: this.#total }, flows: null, bytesIn, bytesOut, refusals: { ...this.#refusals }, udpDrops: null, p2p: this.p2pStatus() }
  }

  p2pStatus (): P2pStatus {
    const p = this.#p2p
    const path: P2pStatus['path'] = this.#path !== undefined ? 'p2p' : this.#connecting !== undefined ? 'connecting' : this.#fallback() !== undefined ? 'relay' : 'none'
    const advice = this.#nat === null || this.#peerNat === null
      ? null
      : pairAdvice({ mapping: this.#nat.mapping as MappingBehaviour, filtering: this.#nat.filtering as FilteringBehaviour }, { mapping: this.#peerNat.mapping as MappingBehaviour, filtering: this.#peerNat.filtering as FilteringBehaviour }).advice
    return {
      path,
      reason: this.#path !== undefined ? null : this.#lastReason,
      peer: this.#path === undefined ? null : formatHostPort(this.#path.peer.host, this.#path.peer.port),
      attempts: p.attempts,
      successes: p.successes,
      failures: { ...p.failures },
      lastConnectMs: p.lastConnectMs,
      connections: { direct: p.direct, fallback: p.fallback, refused: p.refused },
      punchRefusals: { ...p.punchRefusals },
      nat: this.#nat,
      peerNat: this.#peerNat,
      advice,
    }
  }

  #fallback (): Visitor | undefined {
    if (this.config.fallbackTo === '') return undefined
    const v = this.#ctx.find(this.config.fallbackTo)
    return v?.handOver === undefined ? undefined : v
  }

  #onConnection (socket: Socket): void {
    socket.on('error', () => { /* reported through 'close' */ })
    if (this.#closed) { socket.destroy(); return }
    socket.setNoDelay(true)
    this.#total++
    const path = this.#path
    if (path !== undefined && !path.session.closed) { this.#direct(socket, path); return }
    const pending = this.#ensurePath()
    if (pending === undefined) { this.#fallBack(socket); return }
    // Bytes the application sends meanwhile wait in the kernel.
    socket.pause()
    let settled = false
    const timer = setTimeout(() => {
      if (settled) return
      settled = true
      this.#log.info({ target: this.target, fallbackTimeoutMs: this.config.fallbackTimeoutMs }, 'no direct path within fallbackTimeoutMs: this connection goes through the relay')
      this.#fallBack(socket)
    }, this.config.fallbackTimeoutMs)
    void pending.then((p) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (socket.destroyed) return
      if (p !== undefined && !p.session.closed) this.#direct(socket, p)
      else this.#fallBack(socket)
    })
  }

  #direct (socket: Socket, path: DirectPath): void {
    let stream: MuxStream
    try {
      stream = path.session.openStream({
        proxy: this.target,
        visitor: { address: normalizeAddress(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 },
        listener: { address: normalizeAddress(socket.localAddress ?? ''), port: socket.localPort ?? 0 },
      })
    } catch {
      this.#fallBack(socket)
      return
    }
    this.#p2p.direct++
    this.#open.set(socket, stream)
    socket.resume()
    bridge(stream, socket, (r) => {
      this.#open.delete(socket)
      if (this.#open.size === 0) this.#idleSince = this.#now()
      this.#doneIn += stream.bytesOut
      this.#doneOut += stream.bytesIn
      if (r.error !== undefined && !this.#closed) this.#refused(r.error)
    })
  }

  #fallBack (socket: Socket): void {
    const to = this.#fallback()
    if (to?.handOver === undefined) {
      this.#p2p.refused++
      this.#refusals.offline++
      socket.resetAndDestroy()
      return
    }
    this.#p2p.fallback++
    socket.resume()
    to.handOver(socket)
  }

  /** The path being made (a new attempt when the budget allows), or undefined when none will come. */
  #ensurePath (warm = false): Promise<DirectPath | undefined> | undefined {
    if (this.#connecting !== undefined) return this.#connecting
    // Not logged in (or the relay takes no visits): nothing to try, and no attempt spent.
    if (!this.#ctx.opener.ready) { this.#note('offline'); return undefined }
    const now = this.#now()
    this.#attemptTimes = this.#attemptTimes.filter((t) => now - t < HOUR_MS)
    const spacing = this.config.minRetryInterval * 1000
    // keepTunnelOpen's re-punch after a path died is not held back by the spacing (the hourly budget still counts).
    if (this.#attemptTimes.length >= this.config.maxRetriesAnHour || (!warm && now - this.#lastFailureAt < spacing)) {
      this.#note('budget')
      return undefined
    }
    this.#attemptTimes.push(now)
    this.#p2p.attempts++
    const attempt = this.#attempt(now)
    this.#connecting = attempt
    void attempt.finally(() => { if (this.#connecting === attempt) this.#connecting = undefined })
    return attempt
  }

  async #attempt (started: number): Promise<DirectPath | undefined> {
    const stream = this.#ctx.opener.open({
      kind: VisitKind.XTCP,
      keys: this.#keys,
      target: this.target,
      visitor: { address: '0.0.0.0', port: 0 },
      listener: { address: '0.0.0.0', port: 0 },
    })
    if (stream instanceof TunnelError) {
      this.#failed('offline', stream.message)
      return undefined
    }
    try {
      const refusals = this.#p2p.punchRefusals
      const onPunchRefused = (reason: string): void => { refusals[reason] = (refusals[reason] ?? 0) + 1 }
      const path = await connectPath(new IntroChannel(stream), { stun: await this.#ctx.stun(), homeKey: this.#keys.homeKey, log: this.#log.child({ p2p: true }), onPunchRefused, disableAssistedAddrs: this.config.disableAssistedAddrs === true })
      this.#nat = path.nat === null ? null : { mapping: path.nat.mapping, filtering: path.nat.filtering }
      this.#peerNat = path.peerNat
      if (this.#closed) { path.close(); return undefined }
      this.#path = path
      this.#idleSince = this.#now()
      this.#p2p.successes++
      this.#p2p.lastConnectMs = Math.round(this.#now() - started)
      this.#lastReason = null
      this.#log.info({ target: this.target, peer: formatHostPort(path.peer.host, path.peer.port), connectMs: this.#p2p.lastConnectMs }, 'direct path up: connections go peer to peer')
      path.session.once('close', (err) => { this.#lost(path, err) })
      return path
    } catch (err) {
      if (err instanceof PathError) {
        if (err.nat !== null) this.#nat = { mapping: err.nat.mapping, filtering: err.nat.filtering }
        if (err.peerNat !== null) this.#peerNat = err.peerNat
        this.#failed(err.reason, err.message)
      }
      else if (err instanceof TunnelError) this.#failed('introTimeout', err.message)
      else throw err
      return undefined
    }
  }

  #lost (path: DirectPath, err: TunnelError | undefined): void {
    if (this.#path !== path) return
    this.#path = undefined
    if (this.#closed) return
    this.#lastReason = 'closed'
    // New connections fall back at once rather than wait for a new punch (minRetryInterval applies).
    this.#lastFailureAt = this.#now()
    this.#p2p.failures.closed = (this.#p2p.failures.closed ?? 0) + 1
    this.#log.warn({ target: this.target, code: err?.code }, 'the direct path closed: new connections go through the relay until it is punched again')
    if (this.config.keepTunnelOpen) {
      this.#repunch = setTimeout(() => { this.#warm(true) }, REPUNCH_DELAY_MS)
      this.#repunch.unref()
    }
  }

  /** keepTunnelOpen: a path is made when none is up; `afterDeath` skips minRetryInterval once. */
  #warm (afterDeath = false): void {
    if (this.#closed || this.#path !== undefined || this.#connecting !== undefined) return
    void this.#ensurePath(afterDeath)
  }

  #checkIdle (): void {
    if (this.config.keepTunnelOpen) this.#warm()
    const path = this.#path
    if (path === undefined || this.config.keepTunnelOpen || this.#open.size > 0) return
    if (this.#now() - this.#idleSince < PATH_IDLE_MS) return
    this.#path = undefined
    this.#log.debug({ target: this.target }, 'direct path idle: closed')
    path.close()
  }

  #failed (reason: FailureReason, message: string): void {
    this.#lastFailureAt = this.#now()
    this.#p2p.failures[reason] = (this.#p2p.failures[reason] ?? 0) + 1
    this.#lastReason = reason
    const fallback = this.#fallback() !== undefined
    this.#log.warn({ target: this.target, code: 'TUN_DIRECT_PATH_FAILED', reason, fallbackTo: this.config.fallbackTo === '' ? undefined : this.config.fallbackTo }, `no direct path: ${message}; ${fallback ? 'connections go through the relay (fallbackTo)' : 'connections are refused (no fallbackTo)'}`)
  }

  #note (reason: FailureReason): void {
    this.#lastReason = this.#lastReason ?? reason
  }

  #refused (err: TunnelError): void {
    const reason = refusalOf(err)
    this.#refusals[reason]++
    this.#refusalLog.note(reason, err.code, this.#refusals)
  }
}
