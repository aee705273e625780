// Issue 21 (memory under load): once a command has started, V8's young generation stays within
// its cap however much surviving garbage the load makes (cli/young-generation.ts), where V8 by
// itself grows it to 32 MiB. Run in a fresh node with the built V8 settings, a load made of many
// small tasks as a daemon's socket reads are, bounded in rounds.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { E2E_TEST_TIMEOUT_MS } from '../helpers/cli.js'

const run = promisify(execFile)
const dist = (rel: string): string => fileURLToPath(new URL(`../../dist/${rel}`, import.meta.url))

/** Rounds of the load, each one task allocating OBJECTS_PER_ROUND objects that live for a while. */
const ROUNDS = 2000
const OBJECTS_PER_ROUND = 2000
const KEPT_OBJECTS = 200_000
const MIB = 1024 * 1024

/** The largest young generation (bytes) seen in a fresh node under the load; `capped`: after startedUp(). */
async function largestYoungGeneration (capped: boolean): Promise<{ largest: number, cap: number }> {
  const script = [
    "import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8'",
    `const { startedUp } = await import(${JSON.stringify(dist('cli/v8-tuning.js'))})`,
    `const { YOUNG_GENERATION_CAP_BYTES } = await import(${JSON.stringify(dist('cli/young-generation.js'))})`,
    capped ? 'startedUp()' : "setFlagsFromString('--semi-space-growth-factor=2')",
    "const size = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size",
    'let largest = size()',
    'let keep = []',
    `for (let round = 0; round < ${ROUNDS}; round++) {`,
    `  for (let i = 0; i < ${OBJECTS_PER_ROUND}; i++) keep.push({ round, i, pad: [i, i + 1] })`,
    `  if (keep.length > ${KEPT_OBJECTS}) keep = keep.slice(${KEPT_OBJECTS / 2})`,
    '  await new Promise((resolve) => setImmediate(resolve))',
    '  largest = Math.max(largest, size())',
    '}',
    'console.log(JSON.stringify({ largest, cap: YOUNG_GENERATION_CAP_BYTES }))',
  ].join('\n')
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: E2E_TEST_TIMEOUT_MS })
  return JSON.parse(stdout) as { largest: number, cap: number }
}

describe('the young generation of a started command', { timeout: E2E_TEST_TIMEOUT_MS }, () => {
  it('stays within its cap under a load of surviving objects', async () => {
    const { largest, cap } = await largestYoungGeneration(true)
    expect(largest).toBeLessThanOrEqual(cap)
  })

  it('grows past the cap under the same load when V8 grows it by itself (the control)', async () => {
    const { largest, cap } = await largestYoungGeneration(false)
    expect(largest).toBeGreaterThan(cap)
    expect(largest).toBeGreaterThanOrEqual(8 * MIB)
  })
})
