// tcp connect: new connections per second. Each operation connects, optionally exchanges one
// request and reply (proving the path reaches the service, not just the relay's listener), and
// closes. Connects that needed a SYN retransmission (>= 1 s) are counted: the sign of a full
// accept queue at the listener.
import { ABANDONED, dial } from './dial.js'
import { ExchangeConnection } from './exchange.js'
import type { BenchPlan } from './plan.js'
import { waitUntilDue, type RunState } from './run-state.js'

async function connectWorker (plan: BenchPlan, state: RunState, request: Buffer): Promise<void> {
  for (let claim = state.claim(); claim !== undefined; claim = state.claim()) {
    const start = await waitUntilDue(state, claim)
    if (state.signal.aborted) return
    const socket = await dial(plan.target, plan.timeoutMs, state)
    if (socket === ABANDONED) return
    if (!('write' in socket)) {
      state.fail(socket)
      continue
    }
    const conn = new ExchangeConnection(socket)
    const r = await conn.exchange(request, plan.replySize, plan.timeoutMs, state.signal)
    conn.destroy()
    if (r === ABANDONED) return
    if (r === true) {
      state.succeed((performance.now() - start) * 1000)
      state.bytesSent += request.length
      state.bytesReceived += plan.replySize
    } else {
      state.fail(r)
    }
  }
}

export async function runTcpConnect (plan: BenchPlan, state: RunState): Promise<void> {
  const request = Buffer.alloc(plan.size, 0x61)
  await Promise.all(Array.from({ length: plan.concurrency }, async () => { await connectWorker(plan, state, request) }))
}
