// Takeover by a token holder (issue 22, finding 4): log in again and again as the honest client's
// clientID with a key of our own and register its proxy names. Before client keys this replaced
// the honest client each time and took its visitors; the honest probe shows whether it still does.
// It comes from a network of its own (127.251.0.1), as an attacker would, not the honest client's.
import { MessageType } from '../../shared/wire/index.js'
import { rawLogin } from '../lib/raw-client.js'
import type { Attack } from './attack.js'

const MAX_TRIES = 10_000

export const takeover: Attack = {
  name: 'takeover',
  what: 'a token holder logs in as the honest client\'s clientID with another key and registers its proxy names',
  run: async (target, signal) => {
    let tried = 0
    let won = 0
    const codes = new Map<string, number>()
    while (!signal.aborted && tried < MAX_TRIES) {
      tried++
      try {
        const login = await rawLogin(target, target.clientId, { localAddress: '127.251.0.1', timeoutMs: 5_000 })
        if (login.result.ok) {
          won++
          login.session.sendControl({ type: MessageType.REGISTER, proxies: [{ name: 'echo', type: 'tcp', remotePort: target.tcpPort }] })
        } else {
          codes.set(login.result.code, (codes.get(login.result.code) ?? 0) + 1)
        }
        login.close()
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'error'
        codes.set(code, (codes.get(code) ?? 0) + 1)
      }
    }
    const refused = [...codes].map(([code, n]) => `${code} ×${n}`).join(', ')
    return { sent: tried, unit: 'logins', note: `logged in ${won}; refused: ${refused === '' ? 'none' : refused}` }
  },
}
