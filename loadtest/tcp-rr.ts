// tcp rr: request/response on `concurrency` persistent connections. Closed loop (each connection
// sends its next request when the reply is in) or, with a rate, open loop with the latency taken
// from the scheduled send time (run-state.ts waitUntilDue). A broken connection is replaced.
import { ABANDONED, dial } from './dial.js'
import { ExchangeConnection } from './exchange.js'
import type { BenchPlan } from './plan.js'
import { waitUntilDue, type RunState } from './run-state.js'

async function rrWorker (plan: BenchPlan, state: RunState, request: Buffer): Promise<void> {
  let conn: ExchangeConnection | undefined
  try {
    for (let claim = state.claim(); claim !== undefined; claim = state.claim()) {
      let start = await waitUntilDue(state, claim)
      if (state.signal.aborted) return
      if (conn === undefined) {
        const socket = await dial(plan.target, plan.timeoutMs, state)
        if (socket === ABANDONED) return
        if (!('write' in socket)) {
          state.fail(socket)
          continue
        }
        conn = new ExchangeConnection(socket)
        // Closed loop: the request's clock starts once it can be sent. Open loop: it started at
        // the scheduled time, and the connect is part of the wait.
        if (plan.rate === null) start = performance.now()
      }
      const r = await conn.exchange(request, plan.replySize, plan.timeoutMs, state.signal)
      if (r === ABANDONED) return
      if (r === true) {
        state.succeed((performance.now() - start) * 1000)
        state.bytesSent += request.length
        state.bytesReceived += plan.replySize
      } else {
        state.fail(r)
        conn.destroy()
        conn = undefined
      }
    }
  } finally {
    conn?.destroy()
  }
}

export async function runTcpRr (plan: BenchPlan, state: RunState): Promise<void> {
  const request = Buffer.alloc(plan.size, 0x61)
  await Promise.all(Array.from({ length: plan.concurrency }, async () => { await rrWorker(plan, state, request) }))
}
