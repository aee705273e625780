// The parts of a status report every process shares: its own fds and memory, and the network
// namespace's accept-queue counters. Read from /proc (cheap file reads, no ss); null where not
// Linux or unreadable.
import { parseLimits, parseNetstat, readFdCount, readProc } from '../diag/index.js'
import { eventLoopDelay } from './event-loop.js'
import type { StatusReport } from './status.js'

export async function processFacts (startedAtMs: number): Promise<StatusReport['process']> {
  const [fds, limits] = await Promise.all([readFdCount('self'), readProc('self/limits')])
  const mem = process.memoryUsage()
  const max = limits.ok ? parseLimits(limits.value)['Max open files']?.soft ?? null : null
  return {
    pid: process.pid,
    node: process.version,
    uptimeS: startedAtMs > 0 ? Math.max(0, (Date.now() - startedAtMs) / 1000) : 0,
    rssBytes: mem.rss,
    heapUsedBytes: mem.heapUsed,
    openFds: fds.ok ? fds.value : null,
    maxFds: max,
    eventLoopDelayMs: eventLoopDelay(),
  }
}

export async function kernelFacts (): Promise<StatusReport['kernel']> {
  const text = await readProc('net/netstat')
  const ext = text.ok ? parseNetstat(text.value).sections.TcpExt : undefined
  return { listenOverflows: ext?.ListenOverflows ?? null, listenDrops: ext?.ListenDrops ?? null }
}
