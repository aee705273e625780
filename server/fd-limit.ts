// The process's file descriptor limit (RLIMIT_NOFILE, soft) from /proc/self/limits, and how many
// fds it holds now (entries of /proc/self/fd). Linux only; elsewhere both are undefined and no
// limit is derived. Read synchronously, once at start: both are small /proc files.
import { readdirSync, readFileSync } from 'node:fs'
import { parseLimits } from '../shared/diag/index.js'

export interface FdFacts {
  /** Soft limit; undefined when unknown or unlimited. */
  limit: number | undefined
  /** fds open now; undefined when unknown. */
  open: number | undefined
}

export function readFdFacts (procRoot = '/proc'): FdFacts {
  let limit: number | undefined
  let open: number | undefined
  try {
    const soft = parseLimits(readFileSync(`${procRoot}/self/limits`, 'utf8'))['Max open files']?.soft
    limit = soft === null || soft === undefined ? undefined : soft
  } catch { /* not Linux, or /proc not mounted */ }
  try {
    open = readdirSync(`${procRoot}/self/fd`).length
  } catch { /* as above */ }
  return { limit, open }
}
