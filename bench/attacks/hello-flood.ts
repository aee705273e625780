// Handshake floods (issue 22, finding 8), from 64 networks at once, each connection one complete
// hello: `hello-wrong-token` with a wrong token (now refused by mac1, one HMAC, no Diffie-Hellman),
// and `hello-dh` with the token, never logging in (each costs the relay its DH work, now bounded
// by the DH budget). Both report the relay's answers by refusal.
import { Refusal } from '../../shared/transport/index.js'
import { helloOnce } from '../lib/raw-client.js'
import type { Attack, AttackResult, AttackTarget } from './attack.js'

const NETWORKS = 64
const MAX_HELLOS = 2_000_000
const NAMES = new Map<number | 'closed', string>([...Object.entries(Refusal).map(([name, code]): [number, string] => [code, name === 'OK' ? 'accepted' : name]), ['closed', 'closed']])

async function flood (target: AttackTarget, token: string, signal: AbortSignal): Promise<AttackResult> {
  const answers = new Map<string, number>()
  let sent = 0
  await Promise.all(Array.from({ length: NETWORKS }, async (_, i) => {
    while (!signal.aborted && sent < MAX_HELLOS) {
      sent++
      const answer = NAMES.get(await helloOnce(target, token, `127.${100 + i}.0.1`, signal)) ?? 'other'
      answers.set(answer, (answers.get(answer) ?? 0) + 1)
    }
  }))
  return { sent, unit: 'hellos', note: [...answers].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ') }
}

export const helloWrongToken: Attack = {
  name: 'hello-wrong-token',
  what: `complete hellos with a wrong token from ${NETWORKS} networks, as fast as the relay answers`,
  run: async (target, signal) => await flood(target, `${target.token}-wrong`, signal),
}

export const helloDh: Attack = {
  name: 'hello-dh',
  what: `complete hellos with the token that never log in, from ${NETWORKS} networks (each costs DH work)`,
  run: async (target, signal) => await flood(target, target.token, signal),
}
