// Helpers for the load tester's e2e tests: `tunnel echo` started through the real CLI with its
// ports read back from the "echo listening" line, and `tunnel bench ... --json` run to its end
// with the report parsed and checked against the documented shape.
import { expect } from 'vitest'
import { benchReportSchema, type BenchReport } from '../../loadtest/index.js'
import { exitWithin, logMsg, spawnCli, type CliHandle } from './cli.js'

export interface EchoHandle {
  handle: CliHandle
  tcpPort: number
  udpPort: number
}

/** Starts `tunnel echo` on 127.0.0.1 with extra flags; waits for its "echo listening" line. */
export async function startEcho (flags: readonly string[] = []): Promise<EchoHandle> {
  const handle = spawnCli(['echo', '--host', '127.0.0.1', '--log-format', 'json', ...flags])
  const line = await handle.waitForLog(logMsg('echo listening'))
  return { handle, tcpPort: Number(line.tcpPort), udpPort: Number(line.udpPort) }
}

export interface BenchRun {
  code: number | null
  report: BenchReport
  stderr: string
  ms: number
}

/** Upper bound on a bench process in these tests (each run is bounded by seconds). */
export const BENCH_EXIT_MS = 20_000

/** Runs `tunnel bench` with --json --progress none; parses and validates the report. */
export async function bench (args: readonly string[], exitMs = BENCH_EXIT_MS): Promise<BenchRun> {
  const started = performance.now()
  const handle = spawnCli(['bench', ...args, '--json', '--progress', 'none', '--log-format', 'json'])
  const exit = await exitWithin(handle, exitMs)
  if (exit === 'timeout') throw new Error(`bench ${args.join(' ')} did not exit within ${exitMs} ms\n${handle.stderr()}`)
  const ms = performance.now() - started
  let parsed: unknown
  try {
    parsed = JSON.parse(handle.stdout())
  } catch {
    throw new Error(`bench ${args.join(' ')} (exit ${exit.code}) printed no JSON report:\n${handle.stdout()}\n${handle.stderr()}`)
  }
  const checked = benchReportSchema.safeParse(parsed)
  expect(checked.error?.issues ?? []).toEqual([])
  return { code: exit.code, report: checked.data as BenchReport, stderr: handle.stderr(), ms }
}
