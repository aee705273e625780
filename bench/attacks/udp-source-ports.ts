// One address (127.0.0.2) talks to the honest client's udp echo from thousands of source ports,
// two datagrams each (so every flow is an established conversation), then goes quiet: before
// per-source flow caps and eviction its flows held the table and a new visitor from another
// address got nothing until they expired (issue 22, finding 11). The note says how many probes
// of a new visitor from 127.0.0.1 were answered. Bounded at MAX_PORTS.
import { createSocket, type Socket } from 'node:dgram'
import type { Attack } from './attack.js'

const MAX_PORTS = 4_200
const SOURCE = '127.0.0.2'
const BATCH = 200
const PROBE_EVERY_MS = 500
const PROBE_TIMEOUT_MS = 400

async function bound (address: string): Promise<Socket> {
  const s = createSocket('udp4')
  s.on('error', () => {})
  await new Promise<void>((resolve) => { s.bind(0, address, resolve) })
  return s
}

export const udpSourcePorts: Attack = {
  name: 'udp-source-ports',
  what: `${MAX_PORTS.toLocaleString('en-US')} source ports of one address, two datagrams each, to the honest client's udp echo`,
  run: async (target, signal) => {
    const sockets: Socket[] = []
    let echoed = 0
    for (let i = 0; i < MAX_PORTS && !signal.aborted; i += BATCH) {
      const batch = await Promise.all(Array.from({ length: Math.min(BATCH, MAX_PORTS - i) }, async () => await bound(SOURCE)))
      for (const s of batch) {
        s.on('message', () => { echoed++ })
        s.send('x', target.udpPort, target.host)
        s.send('y', target.udpPort, target.host)
      }
      sockets.push(...batch)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    // A new visitor from another address, probed until the attack's time is up.
    let probes = 0
    let answered = 0
    while (!signal.aborted) {
      const s = await bound(target.host)
      probes++
      const got = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => { resolve(false) }, PROBE_TIMEOUT_MS)
        s.once('message', () => { clearTimeout(timer); resolve(true) })
        s.send('probe', target.udpPort, target.host)
      })
      s.close()
      if (got) answered++
      await new Promise((resolve) => setTimeout(resolve, PROBE_EVERY_MS))
    }
    for (const s of sockets) s.close()
    return { sent: sockets.length, unit: 'source ports', note: `${echoed} echoes to the attacker; a new visitor from another address answered ${answered} of ${probes} probes` }
  },
}
