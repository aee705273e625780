// CPU time and memory of a process from /proc (Linux): utime + stime of every thread, RSS and peak RSS.
import { readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'

const FALLBACK_CLK_TCK = 100

let clockTicks: number | undefined

/** Kernel clock ticks per second (`getconf CLK_TCK`), the unit of utime/stime in /proc/PID/stat. */
export function clkTck (): number {
  if (clockTicks !== undefined) return clockTicks
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2_000 })
  const n = Number.parseInt(r.stdout ?? '', 10)
  clockTicks = Number.isFinite(n) && n > 0 ? n : FALLBACK_CLK_TCK
  return clockTicks
}

export interface CpuTimes {
  /** utime: user space, all threads, ns. */
  userNs: number
  /** stime: in the kernel on the process's behalf (syscalls, much of the loopback TCP stack), ns. */
  systemNs: number
}

/** utime and stime of a process (all its threads) in nanoseconds; NaN if it cannot be read. */
export function readCpuTimes (pid: number): CpuTimes {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1')
  } catch {
    return { userNs: NaN, systemNs: NaN }
  }
  // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state), so utime (field 14) is fields[11] and stime (15) fields[12].
  const ns = 1e9 / clkTck()
  return { userNs: Number(fields[11]) * ns, systemNs: Number(fields[12]) * ns }
}

/** utime + stime of a process in nanoseconds; NaN if it cannot be read. */
export function readCpuNs (pid: number): number {
  const t = readCpuTimes(pid)
  return t.userNs + t.systemNs
}

export interface SyscallCounts {
  /** read-family syscalls (libuv reads TCP sockets with read()). */
  reads: number
  /** write-family syscalls (libuv writes TCP sockets with write()/writev()). */
  writes: number
}

/** syscr and syscw of /proc/PID/io; NaN if it cannot be read. */
export function readSyscalls (pid: number): SyscallCounts {
  let text = ''
  try {
    text = readFileSync(`/proc/${pid}/io`, 'latin1')
  } catch {
    return { reads: NaN, writes: NaN }
  }
  const get = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN)
  return { reads: get('syscr'), writes: get('syscw') }
}

/** Busy CPU time of the whole machine (user, nice, system, irq, softirq, steal; /proc/stat), ns. */
export function readMachineBusyNs (): number {
  let text: string
  try {
    text = readFileSync('/proc/stat', 'latin1')
  } catch {
    return NaN
  }
  const f = (/^cpu\s+(.+)$/m.exec(text)?.[1] ?? '').split(/\s+/).map(Number)
  const [user = NaN, nice = NaN, system = NaN, , , irq = NaN, softirq = NaN, steal = 0] = f
  return ((user + nice + system + irq + softirq + steal) * 1e9) / clkTck()
}

/** CPU time of this process in nanoseconds (finer than /proc ticks). */
export function selfCpuNs (): number {
  const u = process.cpuUsage()
  return (u.user + u.system) * 1_000
}

export interface Memory {
  rssBytes: number
  peakRssBytes: number
}

/** VmRSS and VmHWM (peak RSS) of a process; NaN if it cannot be read. */
export function readMemory (pid: number): Memory {
  let text = ''
  try {
    text = readFileSync(`/proc/${pid}/status`, 'latin1')
  } catch {
    return { rssBytes: NaN, peakRssBytes: NaN }
  }
  const kib = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)
    return m?.[1] === undefined ? NaN : Number(m[1]) * 1024
  }
  return { rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') }
}
