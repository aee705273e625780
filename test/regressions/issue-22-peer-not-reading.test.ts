// Issue 22, finding 3: a logged-in client that sends PINGs (or DATA for streams that do not
// exist) and never reads made the relay queue every reply: 500 MB of PINGs grew it by 645 MB and
// the session never closed. Now the relay stops reading from such a client once 2 MiB wait for
// it (control and data frames together), and drops it when it has taken nothing within the
// timeout. A raw client built from the project's handshake floods a relay in this process.
import { afterEach, describe, expect, it } from 'vitest'
import type { Relay } from '../../server/index.js'
import { PEER_QUEUE_PAUSE_BYTES } from '../../shared/mux/session.js'
import { encodeHeader, Flag, FrameType } from '../../shared/wire/frame.js'
import { closeInProcess, rawWriter, startRelayInProcess, type RawWire } from '../helpers/in-process.js'

/** The most the attacker sends: far more replies than the bound, if the relay kept answering. */
const MAX_SENT_BYTES = 64 * 1024 * 1024
const BATCH_FRAMES = 4096
/** The attacker waits while this much sits unsent in its own socket (the relay is not reading it). */
const OWN_QUEUE_BYTES = 2 * 1024 * 1024
/**
 * The not-reading timeout of the flooded relay: long enough that a busy machine's attacker reaches
 * the bound before the relay gives up on it (the bound is what is checked), short next to DEADLINE_MS.
 */
const NOT_READING_TIMEOUT_MS = 5_000
/** The honest reader's relay: a reader must survive twice this without being dropped. */
const HONEST_TIMEOUT_MS = 1_000
const DEADLINE_MS = 20_000
/** Replies to what one read carried after the bound was reached, and the kernel's slack. */
const SLACK_BYTES = 1024 * 1024

afterEach(async () => { await closeInProcess() })

async function until (what: string, check: () => boolean): Promise<void> {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > DEADLINE_MS) throw new Error(`not within ${DEADLINE_MS} ms: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Writes `batch` until the relay stops reading (the attacker's own queue stops draining) or MAX_SENT_BYTES. */
async function flood (relay: Relay, raw: RawWire, batch: Buffer): Promise<number> {
  let sent = 0
  while (sent < MAX_SENT_BYTES && !raw.socket.destroyed) {
    if (relay.sessions()[0]?.session.readPaused === true && raw.socket.writableLength > OWN_QUEUE_BYTES) break
    if (raw.socket.writableLength > OWN_QUEUE_BYTES) { await new Promise((resolve) => setTimeout(resolve, 5)); continue }
    raw.send([batch])
    sent += batch.length
    await new Promise((resolve) => setImmediate(resolve))
  }
  return sent
}

const attacks = [
  { what: 'PINGs', batch: Buffer.concat(Array.from({ length: BATCH_FRAMES }, (_, i) => encodeHeader(FrameType.PING, Flag.SYN, 0, i))) },
  // Odd ids are the client's own, and none was ever opened: each one is answered with a RESET.
  { what: 'DATA for streams that do not exist', batch: Buffer.concat(Array.from({ length: BATCH_FRAMES }, (_, i) => encodeHeader(FrameType.DATA, 0, 2 * i + 1, 0))) },
]

describe('issue 22: a client that never reads what the relay sends', () => {
  for (const attack of attacks) {
    it(`sending ${attack.what} makes the relay stop reading from it at the bound, then drop it with TUN_PEER_NOT_READING`, async () => {
      const { relay, port } = await startRelayInProcess('', undefined, 0, { sessionLimits: { peerNotReadingTimeoutMs: NOT_READING_TIMEOUT_MS } })
      const raw = await rawWriter(port, 'no-reader')
      await until('the login', () => relay.sessions().length === 1)
      const control = relay.sessions()[0]
      if (control === undefined) throw new Error('no session')
      const sent = await flood(relay, raw, attack.batch)
      // Far less than what was sent waits for the client: the relay stopped reading it instead.
      expect(control.session.readPauses).toBeGreaterThanOrEqual(1)
      expect(control.session.peerQueuedMaxBytes).toBeLessThan(PEER_QUEUE_PAUSE_BYTES + SLACK_BYTES)
      expect(sent).toBeGreaterThan(PEER_QUEUE_PAUSE_BYTES)
      // Then it is dropped, counted by its code, and its session is gone.
      await until('the session closed', () => control.session.closed)
      expect(relay.stats.errorCounts()['TUN_PEER_NOT_READING']).toBe(1)
      expect(relay.sessions()).toHaveLength(0)
      await until('the connection closed', () => raw.socket.destroyed || raw.socket.readableEnded)
    })
  }

  it('an honest client that reads keeps its session through the same number of pings', async () => {
    const { relay, port } = await startRelayInProcess('', undefined, 0, { sessionLimits: { peerNotReadingTimeoutMs: HONEST_TIMEOUT_MS } })
    const raw = await rawWriter(port, 'reader')
    raw.wire.onData(() => {}) // this one reads (and drops) everything
    await until('the login', () => relay.sessions().length === 1)
    const control = relay.sessions()[0]
    if (control === undefined) throw new Error('no session')
    const batch = attacks[0]?.batch ?? Buffer.alloc(0)
    for (let sent = 0; sent < 4 * PEER_QUEUE_PAUSE_BYTES; sent += batch.length) {
      while (raw.socket.writableLength > OWN_QUEUE_BYTES) await new Promise((resolve) => setTimeout(resolve, 5))
      raw.send([batch])
      await new Promise((resolve) => setImmediate(resolve))
    }
    await new Promise((resolve) => setTimeout(resolve, HONEST_TIMEOUT_MS * 2))
    expect(control.session.closed).toBe(false)
    expect(relay.stats.errorCounts()['TUN_PEER_NOT_READING']).toBeUndefined()
  })
})
