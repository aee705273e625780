// Issue 21 (idle memory): the CLI's V8 settings (cli/v8-tuning.ts) leave the optimizing compiler
// alone: on from the first line for every command, before and after startedUp(). A start-up hold
// was tried and taken out (switching compiler flags at run time is unpredictable). This runs the
// built module in a node that may ask V8 whether a function was optimized.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { E2E_TEST_TIMEOUT_MS } from '../helpers/cli.js'

const run = promisify(execFile)
const V8_TUNING = fileURLToPath(new URL('../../dist/cli/v8-tuning.js', import.meta.url))

// Asks V8 to optimize a function before and after startedUp(); status bit 16 is "optimized".
const SCRIPT = [
  `const { startedUp } = await import(${JSON.stringify(V8_TUNING)})`,
  'function hot (n) { let s = 0; for (let i = 0; i < n; i++) s += (i * 7) % 13; return s }',
  'const optimize = () => { %PrepareFunctionForOptimization(hot); hot(10); hot(10); %OptimizeFunctionOnNextCall(hot); hot(10); return (%GetOptimizationStatus(hot) & 16) !== 0 }',
  'const before = optimize()',
  'startedUp()',
  'console.log(JSON.stringify({ before, after: optimize() }))',
].join('\n')

/** Whether V8 optimized a function before and after startedUp(), in a process run as `tunnel <command>`. */
async function optimizedAs (command: string): Promise<{ before: boolean, after: boolean }> {
  // With -e, process.argv is [node, ...rest]: a first placeholder puts the command at argv[2], as main.js has it.
  const { stdout } = await run(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', SCRIPT, 'main.js', command], { timeout: E2E_TEST_TIMEOUT_MS })
  return JSON.parse(stdout) as { before: boolean, after: boolean }
}

describe('the optimizing compiler during start-up', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('is on from the start for every command, and startedUp() leaves it on', async () => {
    for (const command of ['server', 'client', 'bench', 'verify']) {
      expect(await optimizedAs(command), command).toEqual({ before: true, after: true })
    }
  })
})
