// `tunnel diag nat-timeout`: how long does the NAT between this client and the relay keep an
// idle TCP mapping? One authenticated probe connection per idle time in a schedule, each opened
// in turn; the relay keeps each silent (no heartbeat, no keepalive) for its idle time and then
// sends one natProbe message. It arrives while the NAT still holds the mapping; once the mapping
// is gone the NAT drops it. As soon as one idle time fails, longer ones cannot succeed and are
// cancelled, so a run lasts about the first failing idle time plus the grace.
import type { Logger } from 'pino'
import type { ClientConfig } from '../shared/config/index.js'
import { natProbeClientId, natProbeRun, type ProbeOutcome, type ProbeResult } from '../shared/diag/index.js'
import { sleep } from '../shared/backoff.js'
import { TunnelError } from '../shared/errors.js'
import { Session, type ClientSession } from '../shared/mux/index.js'
import { derivePsk, type KeyPair } from '../shared/transport/index.js'
import { MessageType, PROBE_IDLE_MS, type RelayMessage } from '../shared/wire/index.js'
import { dial } from './dial.js'
import { login } from './login.js'
import { isPermanent } from './permanent.js'
import { secureConnect } from './secure-connect.js'

/** Between probe connections: well under the relay's per-source handshake rate (20/s). */
export const PROBE_PACING_MS = 100

/** Idle times tried by default (seconds): fine steps where heartbeats are chosen, coarse later. */
export const DEFAULT_IDLE_SCHEDULE_S: readonly number[] = [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 75, 90, 120, 150, 180, 240, 300, 420, 600, 900]

export interface NatProbeOptions {
  /** The client's static key pair (client-key.ts). */
  clientKey: KeyPair
  /** Idle times in seconds, ascending; bounded by PROBE_IDLE_MS. */
  scheduleS: readonly number[]
  /** How long after its idle time a natProbe may still arrive (RTT, relay timer slack). */
  graceMs: number
  signal: AbortSignal
  log: Logger
  onResult?: (r: ProbeResult) => void
}

/** Checks and sorts a schedule; throws TUN_USAGE naming the bad entry. */
export function checkSchedule (scheduleS: readonly number[]): number[] {
  const out = [...new Set(scheduleS)].sort((a, b) => a - b)
  if (out.length === 0) throw new TunnelError('TUN_USAGE', 'the idle schedule is empty')
  for (const s of out) {
    if (!Number.isInteger(s) || s * 1000 < PROBE_IDLE_MS.min || s * 1000 > PROBE_IDLE_MS.max) {
      throw new TunnelError('TUN_USAGE', `idle time ${s}: expected whole seconds from ${PROBE_IDLE_MS.min / 1000} to ${PROBE_IDLE_MS.max / 1000}`)
    }
  }
  return out
}

/** The schedule up to and including maxS. */
export function scheduleUpTo (maxS: number): number[] {
  return DEFAULT_IDLE_SCHEDULE_S.filter((s) => s <= maxS)
}

export async function probeNatTimeout (config: ClientConfig, o: NatProbeOptions): Promise<ProbeResult[]> {
  const schedule = checkSchedule(o.scheduleS)
  const psk = derivePsk(config.auth.token)
  // Each probe has its own client id: no clash with the running client's session or timestamps,
  // nor with the probes of a run that just ended (their dead mappings linger on the relay).
  const run = natProbeRun()
  const results = new Map<number, ProbeResult>()
  const running = new Map<number, { cancel: () => void }>()
  let lastTimestamp = 0
  const record = (r: ProbeResult): void => {
    if (results.has(r.idleS)) return
    results.set(r.idleS, r)
    running.delete(r.idleS)
    o.onResult?.(r)
    if (r.outcome === 'dead') { // longer idle times cannot come back alive
      for (const [idleS, p] of running) if (idleS > r.idleS) p.cancel()
    }
  }
  const waits: Promise<void>[] = []
  for (const idleS of schedule) {
    if (o.signal.aborted) break
    const firstDead = [...results.values()].find((r) => r.outcome === 'dead')
    if (firstDead !== undefined && idleS > firstDead.idleS) { record({ idleS, outcome: 'cancelled', detail: `${firstDead.idleS} s already failed` }); continue }
    if (lastTimestamp > 0) await sleep(PROBE_PACING_MS, o.signal)
    if (o.signal.aborted) break
    lastTimestamp = Math.max(Date.now(), lastTimestamp + 1)
    try {
      const session = await openProbe(config, psk, natProbeClientId(config.clientID, idleS, run), lastTimestamp, idleS * 1000, o)
      waits.push(watchProbe(session, idleS, o, running, record))
    } catch (err) {
      const e = err instanceof TunnelError ? err : new TunnelError('TUN_CONNECT', String(err))
      if (isPermanent(e, false)) throw e // wrong token, key, clock or protocol: no probe can work
      record({ idleS, outcome: 'failed', detail: `${e.message} (${e.code})` })
    }
  }
  await Promise.all(waits)
  return [...results.values()].sort((a, b) => a.idleS - b.idleS)
}

async function openProbe (config: ClientConfig, psk: Uint8Array, clientId: string, timestampMs: number, idleMs: number, o: NatProbeOptions): Promise<ClientSession> {
  const { serverAddr, serverPort, transport, auth } = config
  const socket = await dial(serverAddr, serverPort, transport.dialServerTimeout * 1000, o.signal, transport.connectServerLocalIP ?? undefined)
  socket.setNoDelay(true) // and no TCP keepalive: it would refresh the mapping being measured
  let session: ClientSession
  try {
    const secure = await secureConnect(socket, {
      clientId,
      // The client's own key (a relay with auth.clientKeys admits its probes), under a probe's own id.
      clientKey: o.clientKey,
      psk,
      serverKey: auth.serverKey ?? undefined,
      plaintext: transport.insecurePlaintext,
      timestampMs,
      timeoutMs: transport.handshakeTimeout * 1000,
      signal: o.signal,
      logger: o.log,
    })
    session = new Session(secure.wire, { role: 'client', logger: o.log })
  } catch (err) {
    socket.destroy()
    throw err
  }
  session.stopHeartbeat()
  const r = await login(session, { clientId, user: config.user, probeIdleMs: idleMs }).catch((err: unknown) => { session.close(); throw err })
  if (!r.ok) {
    session.close()
    throw new TunnelError(r.code ?? 'TUN_AUTH_REFUSED', r.message ?? 'the relay refused the probe')
  }
  return session
}

function watchProbe (session: ClientSession, idleS: number, o: NatProbeOptions, running: Map<number, { cancel: () => void }>, record: (r: ProbeResult) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const finish = (outcome: ProbeOutcome, detail = ''): void => {
      clearTimeout(timer)
      o.signal.removeEventListener('abort', onAbort)
      session.off('control', onControl)
      session.off('close', onClose)
      session.close()
      record({ idleS, outcome, detail })
      resolve()
    }
    const timer = setTimeout(() => { finish('dead') }, idleS * 1000 + o.graceMs)
    const onControl = (m: RelayMessage): void => { if (m.type === MessageType.NAT_PROBE) finish('alive') }
    const onClose = (err: TunnelError | undefined): void => {
      // A reset during the silence is the NAT (or a middlebox) killing the mapping actively.
      finish('dead', err === undefined ? 'the relay closed the connection' : err.message)
    }
    const onAbort = (): void => { finish('cancelled', 'stopped') }
    session.on('control', onControl)
    session.on('close', onClose)
    o.signal.addEventListener('abort', onAbort, { once: true })
    running.set(idleS, { cancel: () => { finish('cancelled', 'a shorter idle time already failed') } })
  })
}
