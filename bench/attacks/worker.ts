// Runs one attack in a worker thread, so the attacker's own CPU work (keys, encryption, many
// sockets) does not delay the bench's honest probe, which runs on the main thread. workerData:
// { name, target }; a 'stop' message aborts the attack; the worker posts the AttackResult.
import { setMaxListeners } from 'node:events'
import { parentPort, workerData } from 'node:worker_threads'
import { ATTACKS, type AttackTarget } from './index.js'

const { name, target } = workerData as { name: string, target: AttackTarget }
const attack = ATTACKS.find((a) => a.name === name)
const stop = new AbortController()
// An attack may wait on the signal from every one of its connections at once.
setMaxListeners(0, stop.signal)
parentPort?.on('message', (m) => { if (m === 'stop') stop.abort() })
if (attack === undefined) {
  parentPort?.postMessage({ error: `no attack named ${name}` })
} else {
  attack.run(target, stop.signal).then(
    (result) => { parentPort?.postMessage(result) },
    (err: unknown) => { parentPort?.postMessage({ error: err instanceof Error ? err.message : String(err) }) },
  ).finally(() => { parentPort?.close() })
}
