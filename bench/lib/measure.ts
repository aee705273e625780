// One measured run: CPU time, syscall counts and machine load snapshots around a scenario run.
import type { ScenarioName } from './options.js'
import { readCpuTimes, readMachineBusyNs, readMemory, readSyscalls, type CpuTimes, type SyscallCounts } from './proc-stats.js'
import type { Scenario, Target } from './scenarios.js'

/**
 * direct: no tunnel; tunnel: the product (encrypted); plain: a tunnel with
 * transport.insecurePlaintext; base: the product of another build (--base), to compare builds.
 */
export type Mode = 'direct' | 'tunnel' | 'plain' | 'base'
export const MODES: readonly Mode[] = ['direct', 'tunnel', 'plain', 'base']

/** How often relay and client RSS is read during a run (their largest value under load). */
const RSS_SAMPLE_MS = 100

export const PROCESS_ROLES = ['bench', 'services', 'relay', 'client'] as const
export type ProcessRole = typeof PROCESS_ROLES[number]
export type PerProcess<T> = Record<ProcessRole, T>

export type Pids = PerProcess<number>

export interface Sample {
  scenario: ScenarioName
  mode: Mode
  rep: number
  metrics: Record<string, number>
  work: number
  wallSeconds: number
  /**
   * CPU time (user + system) each process used during the run; relay and client are measured
   * in direct runs too (their idle cost). `bench` is the load generator (wrk excluded).
   */
  cpuNs: PerProcess<number>
  /** The system (kernel) part of cpuNs. */
  systemNs: PerProcess<number>
  syscalls: PerProcess<SyscallCounts>
  /** Busy CPU time of the whole machine (includes softirq work and other users' processes). */
  machineBusyNs: number
  /** Resident set size of relay and client right after the run. */
  rssBytes: { relay: number, client: number }
  /** The largest RSS of relay and client read during the run (every RSS_SAMPLE_MS) and right after it. */
  rssMaxBytes: { relay: number, client: number }
  notes?: string[]
}

interface Snapshot {
  cpu: PerProcess<CpuTimes>
  syscalls: PerProcess<SyscallCounts>
  machineBusyNs: number
}

function take (pids: Pids): Snapshot {
  const cpu = {} as PerProcess<CpuTimes>
  const syscalls = {} as PerProcess<SyscallCounts>
  for (const role of PROCESS_ROLES) {
    syscalls[role] = readSyscalls(pids[role])
    if (role === 'bench') {
      // process.cpuUsage() is in µs, finer than /proc's clock ticks.
      const u = process.cpuUsage()
      cpu.bench = { userNs: u.user * 1_000, systemNs: u.system * 1_000 }
    } else {
      cpu[role] = readCpuTimes(pids[role])
    }
  }
  return { cpu, syscalls, machineBusyNs: readMachineBusyNs() }
}

function diff<T extends object> (after: T, before: T): T {
  const out = {} as Record<string, number>
  for (const [k, v] of Object.entries(after)) out[k] = (v as number) - ((before as Record<string, number>)[k] ?? NaN)
  return out as T
}

export async function measure (scenario: Scenario, mode: Mode, rep: number, target: Target, pids: Pids): Promise<Sample> {
  const rssMax = { relay: 0, client: 0 }
  const sampleRss = (): void => {
    rssMax.relay = Math.max(rssMax.relay, readMemory(pids.relay).rssBytes || 0)
    rssMax.client = Math.max(rssMax.client, readMemory(pids.client).rssBytes || 0)
  }
  const sampler = setInterval(sampleRss, RSS_SAMPLE_MS)
  const before = take(pids)
  const t0 = process.hrtime.bigint()
  let m
  try {
    m = await scenario.run(target)
  } finally {
    clearInterval(sampler)
  }
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9
  const after = take(pids)
  sampleRss()
  const cpuNs = {} as PerProcess<number>
  const systemNs = {} as PerProcess<number>
  const syscalls = {} as PerProcess<SyscallCounts>
  for (const role of PROCESS_ROLES) {
    const d = diff(after.cpu[role], before.cpu[role])
    cpuNs[role] = d.userNs + d.systemNs
    systemNs[role] = d.systemNs
    syscalls[role] = diff(after.syscalls[role], before.syscalls[role])
  }
  return {
    scenario: scenario.name,
    mode,
    rep,
    metrics: m.metrics,
    work: m.work,
    wallSeconds,
    cpuNs,
    systemNs,
    syscalls,
    machineBusyNs: after.machineBusyNs - before.machineBusyNs,
    rssBytes: { relay: readMemory(pids.relay).rssBytes, client: readMemory(pids.client).rssBytes },
    rssMaxBytes: rssMax,
    ...(m.notes === undefined ? {} : { notes: m.notes }),
  }
}
