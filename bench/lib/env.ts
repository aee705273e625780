// The environment a benchmark ran in, recorded with every report.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism, loadavg, release, totalmem } from 'node:os'

export interface Environment {
  node: string
  kernel: string
  cpu: string
  cpus: number
  memoryBytes: number
  commit: string
  /** Uncommitted changes in the work tree when the run started. */
  dirty: boolean
  date: string
  /** 1-minute load average when the run started: above ~0.5 something else is using the CPUs. */
  loadAverage1m: number
  wrk?: string
}

function git (root: string, args: readonly string[]): string | undefined {
  const r = spawnSync('git', ['-C', root, ...args], { encoding: 'utf8', timeout: 5_000 })
  return r.status === 0 ? r.stdout.trim() : undefined
}

function cpuModel (): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    return m?.[1]?.trim() ?? 'unknown'
  } catch {
    return 'unknown'
  }
}

export function environment (root: string, wrkVersion: string | undefined): Environment {
  return {
    node: process.version,
    kernel: release(),
    cpu: cpuModel(),
    cpus: availableParallelism(),
    memoryBytes: totalmem(),
    commit: git(root, ['rev-parse', '--short', 'HEAD']) ?? 'unknown',
    dirty: (git(root, ['status', '--porcelain']) ?? '') !== '',
    date: new Date().toISOString(),
    loadAverage1m: loadavg()[0] ?? NaN,
    ...(wrkVersion === undefined ? {} : { wrk: wrkVersion }),
  }
}
