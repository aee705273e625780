// The CLI's help and usage errors are the same text whether the CLI runs from its bundle
// (dist/bundle: a bundle per command, the lazy segmenter, tools/bundle-cli.mjs) or from its
// separate modules (what main.js runs under V8 coverage), and a usage error is one line and a
// pointer to --help with exit code 2: yargs' help layout is skipped for a command that runs
// (cli/help-cache.ts, issue 21), never for one that asks for help.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { CLI_PATH, E2E_TEST_TIMEOUT_MS } from '../helpers/cli.js'

/** Where the separate modules' runs write their (unused) V8 coverage. */
const coverageDir = mkdtempSync(join(tmpdir(), 'tunnel-help-'))

afterAll(() => { rmSync(coverageDir, { recursive: true, force: true }) })

interface Run { code: number, stdout: string, stderr: string }

/** Runs `tunnel ...args` to its end; `modules` runs the separate modules instead of the bundle. */
async function tunnel (args: readonly string[], modules: boolean): Promise<Run> {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TUNNEL_') && k !== 'NODE_V8_COVERAGE'))
  if (modules) env.NODE_V8_COVERAGE = coverageDir
  return await new Promise((resolve) => {
    execFile(process.execPath, [CLI_PATH, ...args], { env, timeout: E2E_TEST_TIMEOUT_MS }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
      resolve({ code, stdout, stderr })
    })
  })
}

describe('the help and usage errors', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('are the same text from the bundle as from the separate modules, for the program and its long-running commands', async () => {
    for (const args of [['--help'], ['server', '--help'], ['client', '--help'], ['verify', '--help'], ['server', '--bogus'], ['servr'], []]) {
      const bundled = await tunnel(args, false)
      const modules = await tunnel(args, true)
      expect(bundled, args.join(' ')).toEqual(modules)
    }
  })

  it('a usage error prints its reason and a pointer to --help, not the help, and exits 2', async () => {
    expect(await tunnel(['server', '--bogus'], false)).toEqual({ code: 2, stdout: '', stderr: "tunnel: Unknown argument: bogus\nRun 'tunnel --help' for usage.\n" })
    const help = await tunnel(['server', '--help'], false)
    expect(help.code).toBe(0)
    expect(help.stdout.startsWith('tunnel server\n')).toBe(true)
  })
})
