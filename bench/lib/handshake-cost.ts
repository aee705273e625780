// CPU of one handshake, measured in-process on the pure handshake code (no sockets): what the
// relay spends per client login (NKpsk0 and NNpsk0), what the client spends, and one X25519
// scalarMult of tweetnacl for scale. Bounded by count.
import { SUPPORTED_CONTROL_VERSIONS } from '../../shared/wire/control.js'
import { parseHello, parseResponse } from '../../shared/transport/handshake.js'
import { ClientHandshake } from '../../shared/transport/handshake-client.js'
import { answerHello } from '../../shared/transport/handshake-relay.js'
import { derivePsk } from '../../shared/transport/keys.js'
import { dh, generateKeyPair } from '../../shared/transport/noise.js'
import { ReplayGuard } from '../../shared/transport/replay.js'
import { median } from './stats.js'

export interface HandshakeCost {
  runs: number
  /** Relay CPU per NKpsk0 handshake (parse, checks, 3 X25519 operations, message 2), ms. */
  relayMs: number
  /** The same for an unpinned (NNpsk0) client, ms. */
  relayUnpinnedMs: number
  /** Client CPU per NKpsk0 handshake (hello and reading message 2), ms. */
  clientMs: number
  scalarMultMs: number
}

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6

export function measureHandshake (runs: number): HandshakeCost {
  const relayKey = generateKeyPair()
  const clientKey = generateKeyPair()
  const psk = derivePsk('bench-token')
  const guard = new ReplayGuard({ maxSkewMs: 60_000 })
  const relay: number[] = []
  const unpinned: number[] = []
  const client: number[] = []
  const mult: number[] = []
  for (let i = 0; i < runs; i++) {
    for (const pinned of [true, false]) {
      let t = process.hrtime.bigint()
      const c = new ClientHandshake({ clientId: `bench-${i}`, clientKey, psk, serverKey: pinned ? relayKey.publicKey : undefined, plaintext: false, nowMs: Date.now() })
      let clientTime = ms(t)
      t = process.hrtime.bigint()
      const hello = parseHello(c.hello)
      if (hello === undefined) throw new Error('incomplete hello')
      const outcome = answerHello(hello.hello, { staticKey: relayKey, psk, plaintext: false, guard, nowMs: Date.now(), controlVersions: SUPPORTED_CONTROL_VERSIONS })
      if (!outcome.ok) throw outcome.error
      ;(pinned ? relay : unpinned).push(ms(t))
      t = process.hrtime.bigint()
      const r = parseResponse(outcome.reply)
      if (r === undefined) throw new Error('incomplete answer')
      c.finish(r.response)
      clientTime += ms(t)
      if (pinned) client.push(clientTime)
    }
    const t = process.hrtime.bigint()
    dh(relayKey.secretKey, generateKeyPair().publicKey)
    mult.push(ms(t) / 2) // a key pair is one scalarMult too
  }
  return { runs, relayMs: median(relay), relayUnpinnedMs: median(unpinned), clientMs: median(client), scalarMultMs: median(mult) }
}
